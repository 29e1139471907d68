"""Shared by the client scripts: read the scenario's input (JSON in argv[1]), run it, print one JSON object.

A client library's exception is part of the result (its type and message), not a crash: the tests assert on it.
"""
import json
import sys
import traceback
from importlib.metadata import version


def main(scenarios, distributions):
    given = json.loads(sys.argv[1])
    result = {'versions': {name: version(name) for name in distributions}}
    try:
        result.update(scenarios[given['scenario']](given))
    except Exception as err:  # noqa: BLE001 - the library's own exception is the result
        result.update({'raised': type(err).__name__, 'message': str(err), 'trace': traceback.format_exc(limit=3)})
    print(json.dumps(result, default=str))
