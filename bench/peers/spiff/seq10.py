"""Peer benchmark: a 10-task sequence on SpiffWorkflow, in memory.

The BPMN process is start -> 10 user tasks in sequence -> end. It is parsed once;
each case is a new BpmnWorkflow run to completion by completing every ready user task
(the equivalent of knhk's start + complete of a work item), one case in flight.

    python seq10.py [CASES]   prints "spiffworkflow <version> cases/s <figure>"
"""

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


def run_case(spec) -> int:
    """Runs one case to completion; returns the user tasks it completed."""
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    done = 0
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            raise RuntimeError("no ready user task but the workflow is not completed")
        for task in ready:
            task.run()
            done += 1
        workflow.do_engine_steps()
    return done


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    parser = BpmnParser()
    parser.add_bpmn_str(bpmn(TASKS).encode())
    spec = parser.get_spec("seq10")
    for _ in range(max(cases // 10, 1)):  # warm-up
        run_case(spec)
    start = time.perf_counter()
    for _ in range(cases):
        completed = run_case(spec)
        assert completed == TASKS, completed
    elapsed = time.perf_counter() - start
    print(f"spiffworkflow {__version__} cases {cases} seconds {elapsed:.3f} cases/s {cases / elapsed:.1f}")


if __name__ == "__main__":
    main()
