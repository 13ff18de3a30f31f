# The Firestore database (native mode). The relay's query (a single-field range on jobs.outbox_due_at) and lead paging
# (on lead_id) use automatic single-field indexes; the composite ones are in indexes.tf.

resource "terraform_data" "services" {
  input = var.service_ready
}

resource "google_firestore_database" "this" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"
  depends_on                        = [terraform_data.services]
}
