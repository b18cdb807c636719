"""What a recording is made of besides the kernel's variables: the notebook's revision, the
environment it ran in, the files it read and wrote, and system load while a run is active."""
