"""`make simulate`: a month of the city through the running pipeline (see `run.py`)."""
