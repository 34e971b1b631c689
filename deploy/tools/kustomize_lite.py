#!/usr/bin/env python3
"""Render a kustomization for the subset of kustomize that deploy/k8s uses.

Used by scripts/check-deploy when neither `kubectl` nor `kustomize` is installed (and,
when one is, compared with its output to keep the two in step). Supported fields:
`resources` (files and directories with a kustomization), `namespace`, `labels` (pairs
on metadata only), `images` (newName/newTag/digest) and `patches` with a `target`
(kind/name) and an inline JSON 6902 `patch`. Anything else is an error, so a new
kustomize feature in deploy/k8s fails loudly here instead of rendering wrongly.

    python3 deploy/tools/kustomize_lite.py deploy/k8s/overlays/prod > prod.yaml
"""

import copy
import sys
from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
# Kinds without a namespace (those this repo uses, and the usual ones).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
    "CustomResourceDefinition", "PriorityClass", "IngressClass", "RuntimeClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
}


class RenderError(Exception):
    pass


def render(directory: Path) -> list:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise RenderError(f"{directory}: no kustomization.yaml")
    kust = yaml.safe_load(path.read_text()) or {}
    unknown = set(kust) - SUPPORTED
    if unknown:
        raise RenderError(f"{path}: fields not supported by kustomize_lite: {sorted(unknown)}")
    objects = []
    for entry in kust.get("resources", []):
        target = directory / entry
        if target.is_dir():
            objects.extend(render(target))
        elif target.is_file():
            objects.extend(d for d in yaml.safe_load_all(target.read_text()) if d)
        else:
            raise RenderError(f"{path}: resource {entry!r} not found")
    for patch in kust.get("patches", []):
        apply_patch(objects, patch, path)
    if "namespace" in kust:
        set_namespace(objects, kust["namespace"])
    for spec in kust.get("labels", []):
        if spec.get("includeSelectors") or spec.get("includeTemplates"):
            raise RenderError(f"{path}: labels with includeSelectors/includeTemplates")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(spec["pairs"])
    for image in kust.get("images", []):
        set_image(objects, image)
    return objects


def apply_patch(objects, patch, path):
    target = patch.get("target") or {}
    if set(patch) - {"target", "patch"} or set(target) - {"kind", "name"} or "patch" not in patch:
        raise RenderError(f"{path}: only patches with target kind/name and an inline patch")
    ops = yaml.safe_load(patch["patch"])
    if not isinstance(ops, list):
        raise RenderError(f"{path}: only JSON 6902 patches (a list of operations)")
    matched = [
        o for o in objects
        if o.get("kind") == target.get("kind", o.get("kind"))
        and o["metadata"]["name"] == target.get("name", o["metadata"]["name"])
    ]
    if not matched:
        raise RenderError(f"{path}: patch target {target} matches nothing")
    for obj in matched:
        for op in ops:
            json_patch(obj, op, path)


def json_patch(doc, op, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    parent = doc
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    kind = op["op"]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if kind == "add":
            parent.insert(index, copy.deepcopy(op["value"]))
        elif kind == "replace":
            parent[index] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[index]
        else:
            raise RenderError(f"{path}: unsupported op {kind}")
    else:
        if kind in ("replace", "remove") and last not in parent:
            raise RenderError(f"{path}: {op['path']} does not exist")
        if kind in ("add", "replace"):
            parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[last]
        else:
            raise RenderError(f"{path}: unsupported op {kind}")


def set_namespace(objects, namespace):
    for obj in objects:
        kind = obj.get("kind")
        if kind not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj.get("subjects", []):
                if subject.get("kind") == "ServiceAccount":
                    subject["namespace"] = namespace


def set_image(objects, image):
    for obj in objects:
        spec = obj.get("spec", {})
        pod = spec.get("template", {}).get("spec") if obj.get("kind") != "Pod" else spec
        for key in ("initContainers", "containers"):
            for container in (pod or {}).get(key, []):
                ref = container.get("image", "")
                name = ref.split("@")[0]
                if ":" in name.rsplit("/", 1)[-1]:
                    name = name.rsplit(":", 1)[0]
                if name != image["name"]:
                    continue
                new = image.get("newName", name)
                if "digest" in image:
                    new += "@" + image["digest"]
                elif "newTag" in image:
                    new += ":" + str(image["newTag"])
                container["image"] = new


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        objects = render(Path(argv[1]))
    except (RenderError, KeyError, IndexError, ValueError, yaml.YAMLError) as e:
        print(f"kustomize_lite: {e}", file=sys.stderr)
        return 1
    yaml.safe_dump_all(objects, sys.stdout, sort_keys=True, default_flow_style=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
