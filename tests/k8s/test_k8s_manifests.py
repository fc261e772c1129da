"""The Kubernetes manifests of deploy/k8s, rendered with `kubectl kustomize`
and checked by manifest_validator.py (schemas, strata's flags, probes against
the real binary); and the validator itself, fed broken manifests."""
import os
import shutil
import subprocess
import tempfile
import unittest

import yaml

import manifest_validator as v

STRATA_BIN = os.environ.get("STRATA_BIN", os.path.join(v.SOURCE_DIR, "build/release/strata"))
REPOSITORY = os.path.join(v.SOURCE_DIR, "examples", "repository")


def dev_text():
    done = subprocess.run([v.kubectl(), "kustomize", os.path.join(v.DEPLOY_DIR, "overlays/dev")],
                          capture_output=True, text=True, check=True)
    return done.stdout


def problems_of(text, **kwargs):
    return v.validate([o for o in yaml.safe_load_all(text) if o], **kwargs)


class ManifestsTest(unittest.TestCase):
    def test_every_kustomization_renders_and_passes(self):
        for name in v.KUSTOMIZATIONS:
            with self.subTest(kustomization=name):
                problems = v.validate_kustomization(name, STRATA_BIN, REPOSITORY)
                self.assertEqual(problems, [], "\n".join(problems))

    def test_the_overlays_hold_what_issue_16_asks_for(self):
        kinds = {name: {(o["kind"], o["metadata"]["name"])
                        for o in v.render(os.path.join(v.DEPLOY_DIR, name))}
                 for name in v.KUSTOMIZATIONS}
        for name in ("overlays/dev", "overlays/production", "overlays/production-keda"):
            for kind in ("Deployment", "Service", "PodDisruptionBudget"):
                self.assertIn((kind, "strata"), kinds[name])
            self.assertIn(("Deployment", "strata-redis"), kinds[name])
            self.assertIn(("Service", "strata-redis"), kinds[name])
        self.assertIn(("HorizontalPodAutoscaler", "strata"), kinds["overlays/production"])
        self.assertIn(("ConfigMap", "strata-prometheus-adapter-rules"),
                      kinds["overlays/production"])
        self.assertIn(("ScaledObject", "strata"), kinds["overlays/production-keda"])
        self.assertNotIn(("HorizontalPodAutoscaler", "strata"), kinds["overlays/production-keda"])
        job = v.render(os.path.join(v.DEPLOY_DIR, "batch"))[0]
        self.assertEqual(job["spec"]["completionMode"], "Indexed")
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertIn(f"--shard=$(JOB_COMPLETION_INDEX)/{job['spec']['completions']}", args)


class ValidatorCatchesTest(unittest.TestCase):
    """Broken manifests that must fail, each for the reason it is broken."""

    @classmethod
    def setUpClass(cls):
        cls.text = dev_text()

    def assertCaught(self, broken, expected, **kwargs):
        self.assertTrue(broken != self.text and broken.count("\n") > 10,
                        "the edit did not apply")
        problems = problems_of(broken, **kwargs)
        self.assertTrue(any(expected in p for p in problems),
                        f"expected '{expected}' among:\n" + "\n".join(problems))

    def test_the_dev_overlay_is_clean_without_edits(self):
        self.assertEqual(problems_of(self.text), [])

    def test_a_misspelled_field(self):
        self.assertCaught(self.text.replace("periodSeconds: 10", "periodSecond: 10"),
                          "unknown field 'periodSecond'")
        self.assertCaught(self.text.replace("readinessProbe:", "readinesProbe:"),
                          "unknown field 'readinesProbe'")

    def test_a_wrong_type_and_a_missing_required_field(self):
        self.assertCaught(self.text.replace("replicas: 1", "replicas: one"),
                          "spec.replicas: must be a int")
        self.assertCaught(self.text.replace("        name: redis\n        ports:", "        ports:"),
                          "missing required field 'name'")

    def test_a_probe_path_strata_does_not_serve(self):
        self.assertCaught(self.text.replace("/v2/health/ready", "/healthz"),
                          "readinessProbe: GET /healthz answered 404",
                          strata_bin=STRATA_BIN, repository=REPOSITORY)

    def test_a_probe_on_the_wrong_port(self):
        broken = self.text.replace("path: /v2/health/live\n            port: http",
                                   "path: /v2/health/live\n            port: grpc", 1)
        self.assertCaught(broken, "port 8001 is not strata's HTTP port 8000",
                          strata_bin=STRATA_BIN, repository=REPOSITORY)

    def test_a_flag_strata_does_not_have(self):
        self.assertCaught(self.text.replace("--access-log", "--acces-log"),
                          "'--acces-log' is not a flag of `strata serve`",
                          strata_bin=STRATA_BIN)

    def test_a_grace_period_shorter_than_the_drain(self):
        self.assertCaught(self.text.replace("terminationGracePeriodSeconds: 45",
                                            "terminationGracePeriodSeconds: 30"),
                          "leaves no margin over the preStop sleep, the drain delay and the "
                          "drain timeout (35 s)")

    def test_a_drain_longer_than_the_grace_period(self):
        self.assertCaught(self.text.replace("--drain-timeout=30", "--drain-timeout=40"),
                          "leaves no margin over the preStop sleep, the drain delay and the "
                          "drain timeout (45 s)")

    def test_a_service_port_no_container_has(self):
        self.assertCaught(self.text.replace("targetPort: grpc", "targetPort: grcp"),
                          "targetPort 'grcp' is no port")

    def test_a_misspelled_field_of_the_keda_scaled_object(self):
        objects = v.render(os.path.join(v.DEPLOY_DIR, "overlays/production-keda"))
        text = yaml.safe_dump_all(objects)
        self.assertEqual(problems_of(text), [])
        self.assertCaught(text.replace("minReplicaCount:", "minReplicas:"),
                          "unknown field 'minReplicas'")
        self.assertCaught(text.replace("threshold: '0.7'", "threshold: 0.7"),
                          "threshold: must be a str")

    def test_an_hpa_metric_no_adapter_rule_provides(self):
        objects = v.render(os.path.join(v.DEPLOY_DIR, "overlays/production"))
        text = yaml.safe_dump_all(objects)
        self.assertCaught(text.replace("name: strata_saturation_ratio",
                                       "name: strata_saturation"),
                          "metric 'strata_saturation' is provided by no prometheus-adapter rule")

    def test_a_typo_in_an_overlay_patch_through_kustomize(self):
        work = tempfile.mkdtemp(prefix="strata-k8s-test-")
        try:
            root = os.path.join(work, "k8s")
            shutil.copytree(v.DEPLOY_DIR, root)
            patch = os.path.join(root, "overlays", "dev", "deployment-patch.yaml")
            with open(patch) as f:
                text = f.read()
            with open(patch, "w") as f:
                f.write(text.replace("resources:", "resource:"))
            problems = v.validate(v.render(os.path.join(root, "overlays", "dev")))
            self.assertTrue(any("unknown field 'resource'" in p for p in problems), problems)
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    unittest.main()
