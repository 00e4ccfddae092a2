"""Developer tools that drive or measure the app: the HTTP driver, screenshots, the speed and soak benchmarks, and
the text-infill benchmark of the app's planner and examples. Library code never imports them."""
