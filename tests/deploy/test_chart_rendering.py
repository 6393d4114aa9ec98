"""The chart renders and lints cleanly (strict) for every ci/ value set and both ends of the supported
Kubernetes range, and renders what operators rely on: draining, probes, scaling, gating, NOTES."""

from __future__ import annotations

import json

import helm_python
import pytest
import yaml

from gateway.app import EXIT_BOUND_SECONDS
from tests.deploy import manifests


@pytest.mark.parametrize("kube_version", manifests.KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", manifests.VALUE_SETS)
def test_chart_lints_strictly(value_set: str, kube_version: str) -> None:
    report = helm_python.lint(
        manifests.CHART_DIR,
        manifests.load_values(value_set),
        strict=True,
        namespace=manifests.NAMESPACE,
        kube_version=f"v{kube_version}",
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [], report["errors"]
    assert problems == [], problems
    assert report["total_charts_linted"] == 1


def test_chart_declares_the_supported_kubernetes_range() -> None:
    """helm install refuses older clusters; the oldest validated version is the chart's floor."""
    chart = yaml.safe_load((manifests.CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["kubeVersion"] == f">={manifests.OLDEST_KUBE}-0"


@pytest.mark.parametrize("value_set", manifests.VALUE_SETS)
def test_gateway_drains_streams_before_it_is_killed(
    rendered_sources: dict[str, manifests.Rendered], value_set: str
) -> None:
    values = manifests.load_values(value_set)
    drain = {"preStopSleepSeconds": 5, "shutdownGraceSeconds": 60, **values.get("gateway", {}).get("drain", {})}
    deployment = manifests.named(rendered_sources[value_set].docs, "Deployment", "aliasgate-gateway")
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] == drain["preStopSleepSeconds"]
    assert f"--shutdown-grace-seconds={drain['shutdownGraceSeconds']}" in container["args"]
    # After the grace the gateway still ends the streams it cuts and exits: that must fit before the SIGKILL.
    needed = drain["preStopSleepSeconds"] + drain["shutdownGraceSeconds"] + EXIT_BOUND_SECONDS
    assert spec["terminationGracePeriodSeconds"] >= needed


def test_kustomize_gateway_drains_streams_too(kustomized: manifests.Rendered) -> None:
    spec = manifests.named(kustomized.docs, "Deployment", "aliasgate-gateway")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    grace = int(next(a for a in container["args"] if a.startswith("--shutdown-grace-seconds=")).split("=")[1])
    needed = container["lifecycle"]["preStop"]["sleep"]["seconds"] + grace + EXIT_BOUND_SECONDS
    assert spec["terminationGracePeriodSeconds"] >= needed


def test_no_termination_margin_the_schema_allows_is_shorter_than_the_gateways_exit_after_the_grace() -> None:
    """The margin covers the gateway's last steps after the grace (cut streams' error frames, cleanup, exit);
    a smaller one would let the kubelet SIGKILL a pod that is still ending its streams properly."""
    schema = json.loads((manifests.CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    margin = schema["properties"]["gateway"]["properties"]["drain"]["properties"]["terminationMarginSeconds"]
    assert margin["minimum"] >= EXIT_BOUND_SECONDS


@pytest.mark.parametrize("source", manifests.SOURCES)
def test_probes_use_the_admin_port(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    deployments = manifests.of_kind(rendered_sources[source].docs, "Deployment")
    assert len(deployments) == 2
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            admin = next(p for p in container["ports"] if p["name"] == "admin")
            assert admin["containerPort"] == 9090
            assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "admin"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
            assert container["command"] in (["python", "-m", "gateway"], ["python", "-m", "controller"])


@pytest.mark.parametrize("source", manifests.SOURCES)
def test_both_processes_know_their_namespace_and_table(
    rendered_sources: dict[str, manifests.Rendered], source: str
) -> None:
    for deployment in manifests.of_kind(rendered_sources[source].docs, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        assert env["ALIASGATE_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
        assert "--table-configmap=aliasgate-routes" in container["args"]
        assert "--admin-listen=0.0.0.0:9090" in container["args"]


def test_autoscaling_replaces_fixed_gateway_replicas(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["ha"].docs
    assert "replicas" not in manifests.named(docs, "Deployment", "aliasgate-gateway")["spec"]
    hpa = manifests.named(docs, "HorizontalPodAutoscaler", "aliasgate-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "aliasgate-gateway"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert manifests.named(docs, "PodDisruptionBudget", "aliasgate-gateway")["spec"]["minAvailable"] == 2
    assert not manifests.of_kind(rendered_sources["default"].docs, "HorizontalPodAutoscaler")


def test_no_disruption_budget_that_would_block_drains(rendered_sources: dict[str, manifests.Rendered]) -> None:
    one_replica = manifests.render_chart({"gateway": {"replicas": 1}})
    assert not manifests.of_kind(one_replica.docs, "PodDisruptionBudget")
    assert manifests.of_kind(rendered_sources["default"].docs, "PodDisruptionBudget")


def test_crds_are_gated_and_kept(rendered_sources: dict[str, manifests.Rendered]) -> None:
    default = manifests.of_kind(rendered_sources["default"].docs, "CustomResourceDefinition")
    assert len(default) == 1
    assert default[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    not_kept = manifests.of_kind(rendered_sources["everything-on"].docs, "CustomResourceDefinition")
    assert len(not_kept) == 1
    assert "helm.sh/resource-policy" not in not_kept[0]["metadata"].get("annotations", {})
    assert not manifests.of_kind(rendered_sources["minimal"].docs, "CustomResourceDefinition")


def test_the_routing_configmap_is_never_templated(rendered_sources: dict[str, manifests.Rendered]) -> None:
    for source, rendered in rendered_sources.items():
        names = [c["metadata"]["name"] for c in manifests.of_kind(rendered.docs, "ConfigMap")]
        assert "aliasgate-routes" not in names, source


def test_client_api_keys_come_from_an_existing_secret(rendered_sources: dict[str, manifests.Rendered]) -> None:
    deployment = manifests.named(rendered_sources["ha"].docs, "Deployment", "aliasgate-gateway")
    spec = deployment["spec"]["template"]["spec"]
    assert "--api-keys-file=/etc/aliasgate/api-keys/api-keys" in spec["containers"][0]["args"]
    volume = next(v for v in spec["volumes"] if v["name"] == "api-keys")
    assert volume["secret"]["secretName"] == "aliasgate-client-keys"
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "api-keys")
    assert "subPath" not in mount, "a subPath mount never sees key rotation"
    default = manifests.named(rendered_sources["default"].docs, "Deployment", "aliasgate-gateway")
    assert not any(a.startswith("--api-keys-file") for a in manifests.container_args(default, "gateway"))


def test_helm_test_pod_checks_readiness_and_models(rendered_sources: dict[str, manifests.Rendered]) -> None:
    pod = manifests.named(rendered_sources["default"].docs, "Pod", "aliasgate-test-connection")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    assert 'admin = "http://aliasgate-gateway-admin.aliasgate-system.svc:9090"' in script
    assert 'public = "http://aliasgate-gateway.aliasgate-system.svc:80"' in script
    assert 'get(admin + "/readyz")' in script
    assert 'get(public + "/v1/models")' in script
    compile(script, "test-connection", "exec")
    with_keys = manifests.named(rendered_sources["ha"].docs, "Pod", "aliasgate-test-connection")
    assert "status == 401" in with_keys["spec"]["containers"][0]["args"][0]
    assert not manifests.of_kind(rendered_sources["minimal"].docs, "Pod")


def test_notes_tell_the_user_how_to_call_the_gateway(chart_default: manifests.Rendered) -> None:
    text = manifests.notes(chart_default)
    assert "http://aliasgate-gateway.aliasgate-system.svc:80/v1" in text
    assert "curl -s http://aliasgate-gateway.aliasgate-system.svc:80/v1/models" in text
    assert "kubectl get ma -A" in text
    assert "No client API keys are configured" in text
    assert "The admission webhook is off" in text


def test_notes_say_when_the_admission_webhook_is_on() -> None:
    text = manifests.notes(manifests.render_chart({"webhook": {"enabled": True, "failurePolicy": "Fail"}}))
    assert "The validating admission webhook is on (failurePolicy Fail)" in text
    assert "kubectl get validatingwebhookconfiguration aliasgate" in text
    assert "The admission webhook is off" not in text


def test_names_follow_the_helm_create_helpers() -> None:
    other = manifests.render_chart({}, release="prod", namespace="llm")
    names = {(d["kind"], d["metadata"]["name"]) for d in other.docs}
    assert ("Deployment", "prod-aliasgate-gateway") in names
    assert ("Deployment", "prod-aliasgate-controller") in names
    controller = manifests.named(other.docs, "Deployment", "prod-aliasgate-controller")
    assert "--gateway-service=prod-aliasgate-gateway-admin" in manifests.container_args(controller, "controller")
    assert all(d["metadata"].get("namespace", "llm") == "llm" for d in other.docs)
    override = manifests.render_chart({"fullnameOverride": "ag"})
    assert ("Service", "ag-gateway") in {(d["kind"], d["metadata"]["name"]) for d in override.docs}
    helpers = (manifests.CHART_DIR / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    for helper in (
        "aliasgate.name",
        "aliasgate.fullname",
        "aliasgate.chart",
        "aliasgate.labels",
        "aliasgate.selectorLabels",
    ):
        assert f'define "{helper}"' in helpers


def test_selector_labels_are_stable_and_component_specific(chart_default: manifests.Rendered) -> None:
    for component in ("gateway", "controller"):
        deployment = manifests.named(chart_default.docs, "Deployment", f"aliasgate-{component}")
        assert deployment["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "aliasgate",
            "app.kubernetes.io/instance": "aliasgate",
            "app.kubernetes.io/component": component,
        }


def test_network_policies_let_the_controller_and_monitoring_reach_admin_ports(
    rendered_sources: dict[str, manifests.Rendered],
) -> None:
    docs = rendered_sources["everything-on"].docs
    gateway = manifests.named(docs, "NetworkPolicy", "aliasgate-gateway")
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in gateway["spec"]["ingress"]}
    assert set(by_port) == {"http", "admin"}
    assert {"namespaceSelector": {"matchLabels": {"aliasgate.io/client": "true"}}} in by_port["http"]
    controller_peer = {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "aliasgate",
                "app.kubernetes.io/instance": "aliasgate",
                "app.kubernetes.io/component": "controller",
            }
        }
    }
    assert controller_peer in by_port["admin"]
    test_pod = manifests.named(docs, "Pod", "aliasgate-test-connection")
    test_labels = test_pod["metadata"]["labels"]
    for peers in by_port.values():
        assert any(
            p.get("podSelector", {}).get("matchLabels", {}).items() <= test_labels.items()
            and "podSelector" in p
            and "namespaceSelector" not in p
            for p in peers
        ), "helm test must reach both ports"
    controller = manifests.named(docs, "NetworkPolicy", "aliasgate-controller")
    assert controller["spec"]["ingress"][0]["ports"] == [{"port": "admin", "protocol": "TCP"}]
    assert not manifests.of_kind(rendered_sources["default"].docs, "NetworkPolicy")


def test_the_lease_is_named_after_the_release_and_granted_by_that_name() -> None:
    for release, lease in (("aliasgate", "aliasgate-controller"), ("prod", "prod-aliasgate-controller")):
        rendered = manifests.render_chart({}, release=release, namespace="llm")
        controller = manifests.named(rendered.docs, "Deployment", lease)  # the controller's own fullname
        args = controller["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--lease-name={lease}" in args
        granted = [
            rule
            for doc in rendered.docs
            if doc["kind"] == "Role"
            for rule in doc["rules"]
            if "leases" in rule["resources"] and rule.get("resourceNames")
        ]
        assert granted
        assert all(rule["resourceNames"] == [lease] for rule in granted)


def test_service_names_stay_dns_labels_with_a_long_release_name() -> None:
    release = "team-platform-llm-gateway-production-europe-west1-bl"  # 53: the longest Helm allows
    rendered = manifests.render_chart({}, release=release)
    services = manifests.of_kind(rendered.docs, "Service")
    assert len(services) == 3
    for service in services:
        assert len(service["metadata"]["name"]) <= 63, service["metadata"]["name"]
        assert not service["metadata"]["name"].endswith("-")


def test_the_changelog_describes_the_chart_version() -> None:
    chart = yaml.safe_load((manifests.CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    changelog = (manifests.CHART_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## {chart['version']}\n" in changelog
