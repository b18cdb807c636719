"""Recording: the kernel hooks, sessions, runs and the MLflow-named logging API; hands records
to the store. Knows nothing of views (widgets, server, CLI)."""
