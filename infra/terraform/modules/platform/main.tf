# Cluster add-ons, each from its upstream Helm chart at a pinned version: cert-manager (webhook certificates of the
# RabbitMQ messaging-topology operator), KEDA (scales the runner from the queue) and External Secrets (copies Secret
# Manager secrets into Kubernetes Secrets at run time, so their values never pass through Terraform). Their values and
# the ClusterSecretStore are in manifests.tf.

resource "terraform_data" "cluster" {
  input = var.cluster_id
}

resource "helm_release" "cert_manager" {
  name             = "cert-manager"
  repository       = "https://charts.jetstack.io"
  chart            = "cert-manager"
  version          = var.versions.cert_manager
  namespace        = "cert-manager"
  create_namespace = true
  atomic           = true
  timeout          = 900
  values           = [yamlencode(local.helm_values["cert_manager"])]
  depends_on       = [terraform_data.cluster]
}

resource "helm_release" "keda" {
  name             = "keda"
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.versions.keda
  namespace        = "keda"
  create_namespace = true
  atomic           = true
  timeout          = 900
  values           = [yamlencode(local.helm_values["keda"])]
  depends_on       = [terraform_data.cluster]
}

resource "helm_release" "external_secrets" {
  name             = "external-secrets"
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = var.versions.external_secrets
  namespace        = local.eso_namespace
  create_namespace = true
  atomic           = true
  timeout          = 900
  values           = [yamlencode(local.helm_values["external_secrets"])]
  depends_on       = [terraform_data.cluster]
}

# The operator's Kubernetes service account acts as its Google service account (Workload Identity), which may read
# exactly the secrets granted to it in the secrets module.
resource "google_service_account_iam_member" "external_secrets_wi" {
  service_account_id = var.external_secrets_gsa_name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_identity_pool}[${local.eso_namespace}/${local.eso_ksa}]"
}

resource "kubectl_manifest" "cluster_secret_store" {
  yaml_body  = yamlencode(local.manifests["cluster_secret_store"])
  depends_on = [helm_release.external_secrets, google_service_account_iam_member.external_secrets_wi]
}
