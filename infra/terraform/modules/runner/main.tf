# The runner's objects in the cluster (manifests.tf holds them as values) and its Workload Identity binding.

resource "terraform_data" "keda" {
  input = var.keda_ready
}

resource "kubectl_manifest" "namespace" {
  yaml_body = yamlencode(local.manifests["namespace"])
}

resource "kubectl_manifest" "service_account" {
  yaml_body  = yamlencode(local.manifests["service_account"])
  depends_on = [kubectl_manifest.namespace]
}

# Workload Identity: the pods' Kubernetes account acts as the runner's Google account (Firestore only).
resource "google_service_account_iam_member" "workload_identity" {
  service_account_id = var.gsa_name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_identity_pool}[${local.namespace}/${local.ksa}]"
}

resource "kubectl_manifest" "secrets" {
  yaml_body  = yamlencode(local.manifests["secrets"])
  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "amqp_secret" {
  yaml_body  = yamlencode(local.manifests["amqp_secret"])
  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "trigger_auth" {
  yaml_body  = yamlencode(local.manifests["trigger_auth"])
  depends_on = [terraform_data.keda, kubectl_manifest.namespace, kubectl_manifest.amqp_secret]
}

resource "kubectl_manifest" "scaled_job" {
  yaml_body = yamlencode(local.manifests["scaled_job"])
  depends_on = [
    kubectl_manifest.trigger_auth,
    kubectl_manifest.secrets,
    kubectl_manifest.service_account,
    google_service_account_iam_member.workload_identity,
  ]
}

resource "kubectl_manifest" "pod_monitoring" {
  yaml_body  = yamlencode(local.manifests["pod_monitoring"])
  depends_on = [kubectl_manifest.namespace]
}
