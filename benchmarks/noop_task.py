"""The job of benchmarks/throughput.py: RQ imports it by its dotted path, `benchmarks.noop_task.noop`."""


def noop(job_id: str) -> str:
    """Do nothing, so that what is measured is the queue: enqueue, dequeue, bookkeeping and result."""
    return job_id
