"""`fides bench`: synthetic flows (synthetic.py) and the stage measurements (run.py)."""

# Stages measured after the ingestion of each size (ingestion always runs: the others need its dossiers).
STAGES = ("ingestion", "validation", "facturation", "retours", "latence")
