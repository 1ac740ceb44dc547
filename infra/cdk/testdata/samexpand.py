"""Expand a SAM template into plain CloudFormation, offline, and print it as JSON.

Usage: python3 samexpand.py template.yaml

The parity test (parity_test.go) compares the result with the CDK app's
synthesized template. It uses cfn-lint's own SAM transform (which runs the
aws-sam-translator cfn-lint ships with, with cfn-lint's table of managed
policies), so the expansion is the one `cfn-lint template.yaml` checks and
needs neither AWS credentials nor the SAM CLI.
"""

import json
import sys

from cfnlint.decode import decode
from cfnlint.template.transforms._sam import Transform


def main(path):
    template, matches = decode(path)
    if matches:
        for m in matches:
            print(m, file=sys.stderr)
        return 1
    transform = Transform(path, template, "us-east-1")
    errors = transform.transform_template()
    if errors:
        for m in errors:
            print(m, file=sys.stderr)
        return 1
    json.dump(transform.template(), sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
