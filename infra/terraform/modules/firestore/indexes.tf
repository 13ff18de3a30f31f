# Composite indexes for the queries that need one (leadengine/store.py COMPOSITE_QUERIES; tests/infra/test_indexes.py
# checks that every such query has its index here). Each is the equality fields (ascending), then the ordered or
# ranged field last; Firestore appends __name__ in the last field's direction by itself.
locals {
  composite_indexes = {
    # GET /api/v1/jobs: a user's jobs newest first, with and without a status filter.
    jobs_by_user_newest_first            = [["user_id", "ASCENDING"], ["created_at", "DESCENDING"]]
    jobs_by_user_and_status_newest_first = [["user_id", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"]]
    # Fair share (§8): the quota counts a user's queued and running jobs (a count() served from the index, no
    # documents read); the user's held-back jobs are read oldest first.
    jobs_active_by_user            = [["user_id", "ASCENDING"], ["status", "ASCENDING"]]
    jobs_held_by_user_oldest_first = [["user_id", "ASCENDING"], ["held_at", "ASCENDING"]]
    # Stall recovery (§9, leadengine/stalls.py): the unfinished jobs idle the longest, per status, and the counts of
    # queued jobs marked or held and of running jobs whose lease is live, compared with what the broker holds.
    jobs_by_status_idle_longest_first = [["status", "ASCENDING"], ["updated_at", "ASCENDING"]]
    jobs_by_status_and_lease_expiry   = [["status", "ASCENDING"], ["lease.expires_at", "ASCENDING"]]
    jobs_by_status_and_outbox_mark    = [["status", "ASCENDING"], ["outbox_due_at", "ASCENDING"]]
    jobs_by_status_and_hold           = [["status", "ASCENDING"], ["held_at", "ASCENDING"]]
  }
}

resource "google_firestore_index" "jobs" {
  for_each    = local.composite_indexes
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value[0]
      order      = fields.value[1]
    }
  }
}
