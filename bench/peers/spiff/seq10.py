"""Peer benchmark: a 10-task sequence on SpiffWorkflow, in memory or durable.

The BPMN process is start -> 10 user tasks in sequence -> end. It is parsed once;
each case is a new BpmnWorkflow run to completion by completing every ready user task
(the equivalent of knhk's start + complete of a work item), one case in flight.

With `--durable DIR`, the case is persisted as SpiffWorkflow applications do: after the
case starts and after every completed task, the workflow is serialized
(BpmnWorkflowSerializer) and written to SQLite in DIR (WAL, synchronous=FULL), one
committed transaction per step, so every step is on disk before the next one.

    python seq10.py [CASES] [--durable DIR]
        prints "spiffworkflow <version> cases/s <figure>"
"""

import os
import sqlite3
import sys
import time

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.version import __version__

TASKS = 10


def bpmn(tasks: int) -> str:
    """The BPMN XML of the sequence."""
    nodes = ['<bpmn:startEvent id="start"/>']
    flows = []
    previous = "start"
    for k in range(tasks):
        nodes.append(f'<bpmn:userTask id="t{k}" name="t{k}"/>')
        flows.append(f'<bpmn:sequenceFlow id="f{k}" sourceRef="{previous}" targetRef="t{k}"/>')
        previous = f"t{k}"
    nodes.append('<bpmn:endEvent id="end"/>')
    flows.append(f'<bpmn:sequenceFlow id="f{tasks}" sourceRef="{previous}" targetRef="end"/>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="defs" targetNamespace="http://example.invalid/knhk-bench">'
        '<bpmn:process id="seq10" isExecutable="true">'
        + "".join(nodes)
        + "".join(flows)
        + "</bpmn:process></bpmn:definitions>"
    )


class Store:
    """Durable case state: one SQLite row per case, rewritten and committed per step."""

    def __init__(self, directory: str) -> None:
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        os.makedirs(directory, exist_ok=True)
        self.db = sqlite3.connect(os.path.join(directory, "spiff.sqlite3"))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS cases (id INTEGER PRIMARY KEY, state TEXT)")
        self.serializer = BpmnWorkflowSerializer()
        self.next_id = 0

    def new_case(self) -> int:
        self.next_id += 1
        return self.next_id

    def save(self, case: int, workflow) -> None:
        state = self.serializer.serialize_json(workflow)
        with self.db:  # one transaction, committed (and fsynced) on exit
            self.db.execute("INSERT OR REPLACE INTO cases (id, state) VALUES (?, ?)", (case, state))


def run_case(spec, store) -> int:
    """Runs one case to completion; returns the user tasks it completed."""
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    case = store.new_case() if store else 0
    if store:
        store.save(case, workflow)
    done = 0
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            raise RuntimeError("no ready user task but the workflow is not completed")
        for task in ready:
            task.run()
            done += 1
        workflow.do_engine_steps()
        if store:
            store.save(case, workflow)
    return done


def main() -> None:
    args = sys.argv[1:]
    store = None
    if "--durable" in args:
        at = args.index("--durable")
        store = Store(args[at + 1])
        del args[at : at + 2]
    cases = int(args[0]) if args else 2000
    parser = BpmnParser()
    parser.add_bpmn_str(bpmn(TASKS).encode())
    spec = parser.get_spec("seq10")
    for _ in range(max(cases // 10, 1)):  # warm-up
        run_case(spec, store)
    start = time.perf_counter()
    for _ in range(cases):
        completed = run_case(spec, store)
        assert completed == TASKS, completed
    elapsed = time.perf_counter() - start
    print(f"spiffworkflow {__version__} cases {cases} seconds {elapsed:.3f} cases/s {cases / elapsed:.1f}")


if __name__ == "__main__":
    main()
