#!/usr/bin/env python3
"""Checks what the Kubernetes schemas cannot: the properties deploy/k8s promises.

    python3 deploy/tools/check_manifests.py prod.yaml dev.yaml examples.yaml

Each file is a rendered kustomization; the file name's stem (prod, dev, examples) says
which checks apply. Prints every problem and exits 1 if there is any.
"""

import sys
from pathlib import Path

import yaml

READINESS = "/v1/sys/health?standbyok=true&sealedcode=503&uninitcode=503"
LIVENESS = "/v1/sys/health?standbyok=true&sealedcode=200&uninitcode=200"

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec.get("containers", [])


def check_pod_hardening(where, pod_spec):
    pod_sc = pod_spec.get("securityContext", {})
    check(pod_sc.get("runAsNonRoot") is True, f"{where}: pod securityContext.runAsNonRoot is not true")
    check(pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          f"{where}: pod seccompProfile is not RuntimeDefault")
    for c in containers(pod_spec):
        name = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem is not true")
        check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation is not false")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities do not drop ALL")
        resources = c.get("resources", {})
        for part in ("requests", "limits"):
            check({"cpu", "memory"} <= set(resources.get(part, {})),
                  f"{name}: resources.{part} must set cpu and memory")
        image = c.get("image", "")
        pinned = "@" in image or ":" in image.rsplit("/", 1)[-1]
        check(pinned and not image.endswith(":latest"),
              f"{name}: image {image!r} is not pinned to a tag or digest")


def check_cofre(env, objects):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    namespace = objects[0]["metadata"].get("namespace")
    for o in objects:
        if o["kind"] not in ("ClusterRoleBinding",):
            check(o["metadata"].get("namespace") == namespace, f"{env}: {o['kind']}/{o['metadata']['name']} outside namespace {namespace}")
    for kind in ("ServiceAccount", "ClusterRoleBinding", "ConfigMap", "StatefulSet", "PodDisruptionBudget"):
        check(len(by_kind.get(kind, [])) == 1, f"{env}: expected one {kind}, found {len(by_kind.get(kind, []))}")
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    check(set(services) == {"cofre", "cofre-internal"}, f"{env}: Services are {sorted(services)}")
    if problems:
        return
    sts = by_kind["StatefulSet"][0]
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    check(spec.get("replicas") == 1, f"{env}: StatefulSet replicas must be 1 (sled is single-node)")
    check(spec.get("serviceName") == "cofre-internal", f"{env}: StatefulSet serviceName is not the headless Service")
    headless = services["cofre-internal"]["spec"]
    check(headless.get("clusterIP") == "None" and headless.get("publishNotReadyAddresses") is True,
          f"{env}: cofre-internal must be headless and publish not-ready (sealed) pods")
    check(pod.get("serviceAccountName") == "cofre", f"{env}: pod does not run as the cofre ServiceAccount")
    crb = by_kind["ClusterRoleBinding"][0]
    check(crb["roleRef"]["name"] == "system:auth-delegator", f"{env}: ClusterRoleBinding is not to system:auth-delegator")
    check(crb["subjects"] == [{"kind": "ServiceAccount", "name": "cofre", "namespace": namespace}],
          f"{env}: ClusterRoleBinding subject is not cofre in {namespace}: {crb['subjects']}")
    check_pod_hardening(f"{env} StatefulSet", pod)
    (server,) = [c for c in pod["containers"] if c["name"] == "cofre"]
    scheme = "HTTPS" if env == "prod" else "HTTP"
    for probe, path in (("readinessProbe", READINESS), ("livenessProbe", LIVENESS)):
        get = server.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path, f"{env}: {probe} path is {get.get('path')!r}, expected {path!r}")
        check(get.get("scheme") == scheme, f"{env}: {probe} scheme is {get.get('scheme')!r}, expected {scheme}")
    port_names = {p.get("name") for p in server.get("ports", [])} | {p["containerPort"] for p in server.get("ports", [])}
    for service in services.values():
        for port in service["spec"]["ports"]:
            check(port.get("targetPort", port["port"]) in port_names,
                  f"{env}: Service {service['metadata']['name']} targets port {port.get('targetPort')!r}, which the pod does not have")
    for probe in ("readinessProbe", "livenessProbe"):
        check(server.get(probe, {}).get("httpGet", {}).get("port") in port_names,
              f"{env}: {probe} port is not a container port")
    mounts = {m["mountPath"]: m["name"] for m in server.get("volumeMounts", [])}
    claims = [t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])]
    check(mounts.get("/var/lib/cofre") in claims, f"{env}: /var/lib/cofre is not on a PersistentVolumeClaim")
    config_path = server["args"][server["args"].index("-config") + 1]
    config_mount = str(Path(config_path).parent)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    cm = by_kind["ConfigMap"][0]
    check(volumes.get(mounts.get(config_mount), {}).get("configMap", {}).get("name") == cm["metadata"]["name"],
          f"{env}: {config_path} does not come from ConfigMap {cm['metadata']['name']}")
    hcl = cm["data"].get(Path(config_path).name, "")
    check('storage "sled"' in hcl and 'path = "/var/lib/cofre/' in hcl,
          f"{env}: config does not keep sled data on the volume")
    if env == "prod":
        check("tls_disable" not in hcl, f"{env}: the listener must not disable TLS")
        check('"/etc/cofre/tls/tls.crt"' in hcl and '"/etc/cofre/tls/tls.key"' in hcl,
              f"{env}: the listener does not read its certificate from /etc/cofre/tls")
        check(volumes.get(mounts.get("/etc/cofre/tls"), {}).get("secret", {}).get("secretName") == "cofre-tls",
              f"{env}: /etc/cofre/tls is not the Secret cofre-tls")
        check(by_kind["PodDisruptionBudget"][0]["spec"].get("minAvailable") == 1,
              f"{env}: the PodDisruptionBudget must keep the (single) pod")
    else:
        check("tls_disable = true" in hcl, f"{env}: dev listener is expected to be plain HTTP")


def main(paths):
    for path in map(Path, paths):
        objects = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if not objects:
            problems.append(f"{path}: renders no objects")
            continue
        if path.stem == "examples":
            for o in objects:
                if o["kind"] == "Deployment":
                    spec = o["spec"]["template"]["spec"]
                    where = f"examples Deployment/{o['metadata']['name']}"
                    check_pod_hardening(where, spec)
                    # The worked example logs in with the pod's service account.
                    check(spec.get("automountServiceAccountToken") is True,
                          f"{where}: automountServiceAccountToken must be true for the kubernetes login")
                    init = " ".join(" ".join(c.get("command", [])) for c in spec.get("initContainers", []))
                    check("login -method=kubernetes" in init,
                          f"{where}: the init container logs in with -method=kubernetes")
                    check(all(e.get("name") != "COFRE_TOKEN" for c in containers(spec) for e in c.get("env", [])),
                          f"{where}: no stored COFRE_TOKEN")
        else:
            check_cofre(path.stem, objects)
    for p in problems:
        print(f"check_manifests: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
