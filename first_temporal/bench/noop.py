"""A no-op twin of the ETL: same workflows-and-activities shape, no work. The overhead
baseline a daily batch is compared with."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

STEPS = 3  # extract, transform, load (task-queue activities)
TIMEOUT = timedelta(seconds=30)


@activity.defn
def noop_step(index: int) -> int:
    return index


@workflow.defn
class NoopBatchWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        """Local read_checkpoint, the task-queue steps, then the local mart signal."""
        await workflow.execute_local_activity(noop_step, 0, start_to_close_timeout=TIMEOUT)
        for index in range(steps):
            await workflow.execute_activity(noop_step, index, start_to_close_timeout=TIMEOUT)
        await workflow.execute_local_activity(noop_step, 0, start_to_close_timeout=TIMEOUT)
        return steps


@workflow.defn
class NoopRunWorkflow:
    """Parent reads a 'checkpoint' (a local activity), then runs one child, like EtlRunWorkflow."""

    @workflow.run
    async def run(self, name: str) -> int:
        await workflow.execute_local_activity(noop_step, 0, start_to_close_timeout=TIMEOUT)
        return await workflow.execute_child_workflow(
            NoopBatchWorkflow.run, STEPS, id=f"{name}-child"
        )
