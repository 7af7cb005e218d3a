"""Validates rendered Kubernetes manifests offline; run with .tools/k8s-venv/bin/python.

    validate-manifests.py --kubernetes-version 1.37.0 [--kubernetes-version …] --crds DIR < manifests.yaml

Built-in kinds are checked with kubernetes-validate's strict schemas (unknown fields are errors, as
`kubectl apply --validate=strict` would make them). Custom resources are checked against the
openAPIV3Schema of a CRD in DIR, made strict the same way: the API server prunes fields a CRD does
not name, so a misspelt KEDA field would otherwise vanish without a word. A kind with no schema is an
error, never a pass. Prints one JSON object: {"checked": N, "errors": ["kind/name: …", …]}.
"""

import argparse
import copy
import functools
import glob
import json
import sys

import jsonschema
import kubernetes_validate.utils as kv
import yaml

# kubernetes-validate reads and parses its schema files again for every resource; they do not change.
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)


def strict(schema):
    """Closes every object schema that lists its properties and says nothing of others."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def crd_schemas(folder):
    """(apiVersion, kind) → a validator for every version served by the CRDs in folder."""
    out = {}
    for path in sorted(glob.glob(f"{folder}/*.yaml")):
        with open(path) as f:
            crd = yaml.safe_load(f)
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            # metadata is the API server's ObjectMeta, which a CRD schema leaves open.
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            schema["properties"]["apiVersion"] = {"type": "string"}
            schema["properties"]["kind"] = {"type": "string"}
            out[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubernetes-version", action="append", required=True)
    parser.add_argument("--crds", required=True)
    args = parser.parse_args()
    crds = crd_schemas(args.crds)
    resources = [doc for doc in yaml.safe_load_all(sys.stdin.read()) if doc]
    errors = []
    for resource in resources:
        name = f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"
        validator = crds.get((resource.get("apiVersion"), resource.get("kind")))
        if validator is not None:
            for error in validator.iter_errors(resource):
                path = ".".join(str(p) for p in error.absolute_path)
                errors.append(f"{name}: {path}: {error.message}")
            continue
        for version in args.kubernetes_version:
            try:
                kv.validate(resource, version, strict=True)
            except kv.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                errors.append(f"{name} (Kubernetes {version}): {path}: {error.message}")
            except kv.SchemaNotFoundError:
                errors.append(f"{name}: no schema for {resource.get('apiVersion')} in Kubernetes {version}")
    json.dump({"checked": len(resources), "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
