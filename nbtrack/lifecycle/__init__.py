"""Lifecycle of what is recorded: edits of runs, experiments, garbage collection, integrity
checks (doctor) and transfer of runs between stores."""
