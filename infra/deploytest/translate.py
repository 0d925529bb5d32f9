#!/usr/bin/env python3
"""Turns the packaged SAM template (dist/template.yaml) into plain CloudFormation
with AWS's own aws-sam-translator, as `sam deploy` would before create_stack.

    python3 translate.py TEMPLATE BUCKET REGION > template.json

Stated parameters:
  TEMPLATE  the packaged template; each AWS::Serverless::Function's CodeUri is
            the name of its zip beside it (`make package` writes it so).
  BUCKET    the S3 bucket the zips were uploaded to, each under its own name:
            CodeUri "ingest.zip" becomes s3://BUCKET/ingest.zip (what
            `sam deploy --resolve-s3` does with a real bucket).
  REGION    the region the translator resolves ARNs for (AWS_REGION is set
            from it; no AWS call is made).
The stack's own parameters (UserPoolId, SenderEmail, ...) are not resolved here:
they go to create_stack, which evaluates them as CloudFormation would. No managed
policies are looked up (the template names every permission itself), so the
translator needs no IAM access.
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    template, bucket, region = sys.argv[1:]
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region

    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with open(template) as f:
        doc = yaml_parse(f.read())
    for rid, res in doc.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        uri = res.get("Properties", {}).get("CodeUri")
        if not isinstance(uri, str) or uri.startswith("s3://"):
            continue
        res["Properties"]["CodeUri"] = "s3://%s/%s" % (bucket, os.path.basename(uri))

    class NoManagedPolicies:
        def load(self):
            return {}

    out = transform(doc, {}, NoManagedPolicies())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
