"""The chaos run (`nox -s chaos`, or ``python -m dbos_testing.chaos``): worker processes run
workflows with steps, queues and messages while a driver SIGKILLs a random worker every few
seconds and restarts it; at the end the database and the side-effect log must show every
workflow finished exactly once, no checkpointed step ran again, no message lost or delivered
twice, and the queue's concurrency limit never exceeded."""
