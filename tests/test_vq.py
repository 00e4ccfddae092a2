"""Fast tests for the VQ image tokenizer, its training loop and the face data pipeline (tiny configs)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ggm_core.tokenizers.vq import CONFIG_FILE, WEIGHTS_FILE, ImageTokenizer, VQAutoencoder, VQConfig, images_to_tensor
from training.face_data import load_image, prepare_faces
from training.train_vq import train_step, train_vq

TINY = VQConfig(codebook_size=16, code_dim=4, channels=(4, 8, 8), res_blocks=(0, 0, 1))


def smooth_images(n: int, seed: int = 0) -> np.ndarray:
    """Random colour gradients: easy to reconstruct, unlike white noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 64)
    a, b, c = (rng.uniform(0, 255, (n, 1, 1, 3)) for _ in range(3))
    img = a + (b - a) * t[None, :, None, None] + (c - a) * t[None, None, :, None] / 2
    return img.clip(0, 255).astype(np.uint8)


@pytest.fixture
def tokenizer() -> ImageTokenizer:
    torch.manual_seed(0)
    model = VQAutoencoder(TINY)
    model.train()
    model(images_to_tensor(smooth_images(8)))  # data-dependent codebook init
    return ImageTokenizer(model)


def test_encode_decode_shapes(tokenizer):
    assert (tokenizer.kind, tokenizer.vocab_size, tokenizer.grid_shape) == ("vq", 16, (16, 16))
    assert (tokenizer.patch_size, tokenizer.image_size) == (4, 64)
    codes = tokenizer.encode(smooth_images(5))
    assert codes.shape == (5, 256) and codes.dtype == torch.long
    assert codes.min() >= 0 and codes.max() < tokenizer.vocab_size
    images = tokenizer.decode(codes)
    assert images.shape == (5, 64, 64, 3) and images.dtype == np.uint8
    with pytest.raises(ValueError, match="codes must lie"):
        tokenizer.decode(torch.full((1, 256), 16))
    with pytest.raises(ValueError, match="uint8"):
        tokenizer.encode(smooth_images(1).astype(np.float32))


def test_encode_and_decode_build_no_autograd_graph(tokenizer, monkeypatch):
    seen = []
    for name in ("encode", "decode"):
        real = getattr(tokenizer.model, name)
        monkeypatch.setattr(tokenizer.model, name, lambda x, real=real: seen.append(torch.is_grad_enabled()) or real(x))
    codes = tokenizer.encode(smooth_images(2))
    tokenizer.decode(codes)
    assert seen == [False, False] and torch.is_grad_enabled()


def test_save_load_round_trip(tokenizer, tmp_path):
    images = smooth_images(4, seed=1)
    tokenizer.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [WEIGHTS_FILE, CONFIG_FILE]
    loaded = ImageTokenizer.load(tmp_path)
    assert loaded.config == TINY
    assert torch.equal(loaded.encode(images), tokenizer.encode(images))
    codes = tokenizer.encode(images)
    assert np.array_equal(loaded.decode(codes), tokenizer.decode(codes))


def test_load_errors_name_the_file(tokenizer, tmp_path):
    with pytest.raises(FileNotFoundError, match=CONFIG_FILE):
        ImageTokenizer.load(tmp_path)
    tokenizer.save(tmp_path)
    weights, config = tmp_path / WEIGHTS_FILE, tmp_path / CONFIG_FILE
    good_weights, good_config = weights.read_bytes(), config.read_text()

    weights.write_bytes(good_weights[: len(good_weights) // 2])  # truncated
    with pytest.raises(ValueError, match=f"corrupt.*{WEIGHTS_FILE}"):
        ImageTokenizer.load(tmp_path)
    weights.unlink()
    with pytest.raises(FileNotFoundError, match=WEIGHTS_FILE):
        ImageTokenizer.load(tmp_path)
    weights.write_bytes(good_weights)

    config.write_text("{not json")
    with pytest.raises(ValueError, match=CONFIG_FILE):
        ImageTokenizer.load(tmp_path)
    config.write_text(json.dumps({**json.loads(good_config), "codebook_size": 32}))
    with pytest.raises(ValueError, match="do not match"):
        ImageTokenizer.load(tmp_path)


def test_folder_of_images(tmp_path):
    src = tmp_path / "imgs"
    (src / "sub").mkdir(parents=True)
    Image.new("L", (50, 50), 128).save(src / "grey.png")
    pal = Image.new("P", (40, 40), 0)
    pal.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    pal.save(src / "palette.png", transparency=1)
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(src / "sub" / "clear.png")  # fully transparent
    wide = np.zeros((60, 120, 3), np.uint8)
    wide[:, 30:90] = (0, 200, 0)  # green centre square, black side bands
    Image.fromarray(wide).save(src / "sub" / "wide.jpg", quality=95)
    (src / "notes.txt").write_text("not an image")

    assert (load_image(src / "grey.png") == 128).all()
    assert (load_image(src / "palette.png") == (255, 0, 0)).all()
    assert (load_image(src / "sub" / "clear.png") == 255).all()  # alpha over white
    centre = load_image(src / "sub" / "wide.jpg").astype(int)
    assert abs(centre[..., 1].mean() - 200) < 8 and centre[..., 0].max() < 30  # cropped, not squashed

    with pytest.warns(UserWarning, match="skipped 1"):
        out = prepare_faces(cache_dir=tmp_path / "cache", folder=src, name="mine")
    assert out == tmp_path / "cache" / "faces" / "mine"
    train, val = np.load(out / "train.npy"), np.load(out / "val.npy")
    assert train.dtype == val.dtype == np.uint8 and len(train) + len(val) == 4 and len(val) == 1
    assert train.shape[1:] == (64, 64, 3) and (out / "preview.png").is_file()
    assert json.loads((out / "stats.json").read_text())["skipped_files"] == 1
    mtime = (out / "train.npy").stat().st_mtime_ns
    assert prepare_faces(cache_dir=tmp_path / "cache", folder=src, name="mine") == out
    assert (out / "train.npy").stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_training_steps_reduce_loss():
    torch.manual_seed(0)
    model = VQAutoencoder(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = images_to_tensor(smooth_images(16))
    losses = [train_step(model, opt, x)["loss"] for _ in range(40)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_train_vq_resume_matches_uninterrupted_run(tmp_path):
    data = tmp_path / "faces"
    data.mkdir()
    np.save(data / "train.npy", smooth_images(64))
    np.save(data / "val.npy", smooth_images(8, seed=9))
    kw = dict(data_dir=data, steps=6, batch_size=4, config=TINY, ckpt_every=2, val_every=3, log_every=1, warmup=2)
    torch.set_num_threads(1)
    full = train_vq(out=tmp_path / "a", ckpt_dir=tmp_path / "ca", **kw)
    for suffix in (".json", ".safetensors"):  # pretend the run was killed after step 4
        (tmp_path / "ca" / f"ckpt-0000006{suffix}").rename(tmp_path / "ca" / f"gone{suffix}")
    resumed = train_vq(out=tmp_path / "b", ckpt_dir=tmp_path / "ca", resume=True, **kw)
    assert resumed["val"] == full["val"]
    a, b = ImageTokenizer.load(tmp_path / "a"), ImageTokenizer.load(tmp_path / "b")
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    for name in ("reconstructions.png", "training_curve.png", "metrics.json"):
        assert (tmp_path / "a" / name).is_file()


def test_two_face_folders_with_one_name_and_an_edited_folder_are_prepared_apart(tokenizer, tmp_path):
    from training.config import TrainConfig
    from training.data import load_faces

    tokenizer.save(tmp_path / "vq")
    folders = {}
    for side, seed in (("a", 1), ("b", 2)):
        folder = tmp_path / side / "faces"
        folder.mkdir(parents=True)
        for i, image in enumerate(smooth_images(3, seed)):
            Image.fromarray(image).save(folder / f"{i}.png")
        folders[side] = folder
    common = {"dataset": "faces", "vq_dir": str(tmp_path / "vq"), "cache_dir": str(tmp_path / "cache")}

    def prepared(side: str) -> tuple[np.ndarray, torch.Tensor]:
        """The side's prepared training faces and their codes, as a run would load them."""
        cfg = TrainConfig(faces=str(folders[side]), **common)
        codes = load_faces(cfg).train
        return np.load(prepare_faces(cache_dir=cfg.cache_dir, folder=folders[side]) / "train.npy"), codes

    (faces_a, codes_a), (faces_b, codes_b) = prepared("a"), prepared("b")
    assert not np.array_equal(faces_a, faces_b) and not torch.equal(codes_a, codes_b)
    assert prepared("a")[1].equal(codes_a)  # reused: codes of A, not of B prepared last
    edited = smooth_images(3, seed=3)
    for i, image in enumerate(edited):
        Image.fromarray(image).save(folders["a"] / f"{i}.png")
    faces_edited, codes_edited = prepared("a")
    assert any(np.array_equal(face, image) for face in faces_edited for image in edited)
    assert torch.equal(codes_edited, load_faces(TrainConfig(faces=str(folders["a"]), **common)).train)
    assert torch.equal(codes_edited, tokenizer.encode(faces_edited))  # encoded from the edited faces, not stale
