"""The edge: the buffer directory, file claims and moves, the processing loop and the scheduler."""
