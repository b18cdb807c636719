"""Bridges to other trackers: runs pushed to and pulled from MLflow (``pip install nbtrack[mlflow]``)."""
