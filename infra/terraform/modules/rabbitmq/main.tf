# RabbitMQ as a distributed engine we do not write: the RabbitMQ Cluster Operator runs a RabbitmqCluster (three nodes
# by default), the Messaging Topology Operator owns the vhost, the user, its permissions and the policies. The vhost's
# default queue type is quorum, so the application's declarations (exactly the seed's, no x-queue-type) create
# replicated quorum queues on RabbitMQ 4.x, which fills the vhost default into such declarations.
# The objects themselves are in manifests.tf.

# The operators' release manifests, at pinned versions, straight from their GitHub releases.
data "http" "cluster_operator" {
  url = "https://github.com/rabbitmq/cluster-operator/releases/download/${var.versions.rabbitmq_cluster_operator}/cluster-operator.yml"
}

data "http" "topology_operator" {
  url = "https://github.com/rabbitmq/messaging-topology-operator/releases/download/${var.versions.rabbitmq_topology_operator}/messaging-topology-operator-with-certmanager.yaml"
}

data "kubectl_file_documents" "cluster_operator" {
  content = data.http.cluster_operator.response_body
}

data "kubectl_file_documents" "topology_operator" {
  content = data.http.topology_operator.response_body
}

resource "kubectl_manifest" "cluster_operator" {
  for_each          = data.kubectl_file_documents.cluster_operator.manifests
  yaml_body         = each.value
  server_side_apply = true
}

resource "kubectl_manifest" "topology_operator" {
  for_each          = data.kubectl_file_documents.topology_operator.manifests
  yaml_body         = each.value
  server_side_apply = true
  depends_on        = [kubectl_manifest.cluster_operator, terraform_data.cert_manager]
}

resource "terraform_data" "cert_manager" {
  input = var.cert_manager_ready
}

resource "kubectl_manifest" "namespace" {
  yaml_body = yamlencode(local.manifests["namespace"])
}

resource "kubectl_manifest" "cluster" {
  yaml_body  = yamlencode(local.manifests["cluster"])
  depends_on = [kubectl_manifest.cluster_operator, kubectl_manifest.namespace]
}

# Named after the rotation counter (manifests.tf): a rotation replaces it, and the User that imports it after it.
resource "kubectl_manifest" "user_credentials" {
  yaml_body  = yamlencode(local.manifests["user_credentials"])
  force_new  = true
  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "vhost" {
  yaml_body  = yamlencode(local.manifests["vhost"])
  depends_on = [kubectl_manifest.topology_operator, kubectl_manifest.cluster]
}

# The topology operator reads importCredentialsSecret only when a User is created, so a new password (a new
# credentials Secret) means a new User: force_new deletes and recreates it whenever its manifest changes. The operator
# retries the import until External Secrets has filled the Secret, and wait_for holds this apply until the broker has
# the user, so the clients that get the new password next (runners, KEDA, the function) find it in place.
resource "kubectl_manifest" "user" {
  yaml_body = yamlencode(local.manifests["user"])
  force_new = true
  wait_for {
    field {
      key   = "status.conditions.[0].status"
      value = "True"
    }
  }
  depends_on = [kubectl_manifest.topology_operator, kubectl_manifest.cluster, kubectl_manifest.user_credentials]
}

# Deleting the broker user deletes its permissions too: a recreated User gets its Permission recreated with it.
resource "kubectl_manifest" "permission" {
  yaml_body = yamlencode(local.manifests["permission"])
  wait_for {
    field {
      key   = "status.conditions.[0].status"
      value = "True"
    }
  }
  depends_on = [kubectl_manifest.vhost, kubectl_manifest.user]
  lifecycle {
    replace_triggered_by = [kubectl_manifest.user]
  }
}

resource "kubectl_manifest" "work_queue_policy" {
  yaml_body  = yamlencode(local.manifests["work_queue_policy"])
  depends_on = [kubectl_manifest.vhost]
}

resource "kubectl_manifest" "dead_letter_policy" {
  yaml_body  = yamlencode(local.manifests["dead_letter_policy"])
  depends_on = [kubectl_manifest.vhost]
}
