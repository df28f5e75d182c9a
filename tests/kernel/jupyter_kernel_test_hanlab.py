"""
The official Jupyter kernel conformance suite (jupyter_kernel_test, BSD, from ../shared/reference;
never copied here) against the installed `hanlab` kernel. Run by tests/kernel/conformance.test.ts with
Debian's /usr/bin/python3 and python3-jupyter-client, JUPYTER_PATH pointing at a temporary prefix.
Every sample below is TypeScript as a notebook writes it.
"""
import os
import unittest

import jupyter_kernel_test as jkt


class HanlabKernelTests(jkt.KernelTests):
    kernel_name = os.environ.get("HANLAB_KERNEL_NAME", "hanlab")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = "console.log('hello, world')"
    code_stderr = "console.error('warning: small sample')"

    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]

    complete_code_samples = ["1", "console.log('hello, world')", "function f(x: number) {\n  return x * 2;\n}"]
    incomplete_code_samples = ["function f(x: number) {\n  return x * 2;", "const s = `hello", "const xs = [1, 2,"]
    invalid_code_samples = ["import = 7q", "const = 1;"]

    # IPython's `name?` convention: help on a name, shown in the pager.
    code_page_something = "Math.max?"

    code_generate_error = "throw new Error('boom')"

    code_execute_result = [
        {"code": "1 + 2 + 3", "result": "6"},
        {"code": "[1, 2, 3].map((n) => n * n)", "result": "[ 1, 4, 9 ]"},
    ]

    code_display_data = [
        {"code": "import { showTable } from './lib/notebook/display.js';\nshowTable([{ label: 'PS', f1: 0.5 }])", "mime": "text/html"},
        {"code": "import * as tslab from 'tslab';\ntslab.display.html('<b>test</b>')", "mime": "text/html"},
    ]

    code_history_pattern = "1 + 2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = "import { clearOutput } from './lib/notebook/display.js';\nclearOutput()"


if __name__ == "__main__":
    unittest.main(verbosity=2)
