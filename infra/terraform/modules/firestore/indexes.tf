# Composite indexes for the queries that need one (leadengine/store.py COMPOSITE_QUERIES; tests/infra/test_indexes.py
# checks that every such query has its index here). GET /api/v1/jobs lists a user's jobs newest first, with and without
# a status filter. Firestore appends __name__ in the last field's direction by itself.

resource "google_firestore_index" "jobs_by_user_newest_first" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "user_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "jobs_by_user_and_status_newest_first" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "user_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

# Stall recovery (leadengine/stalls.py, contract §9): the unfinished jobs idle the longest, per status, and the running
# jobs whose lease is still live (counted, to compare with the messages the broker holds).
resource "google_firestore_index" "jobs_by_status_idle_longest_first" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updated_at"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "jobs_by_status_and_lease_expiry" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "lease.expires_at"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "jobs_by_status_and_outbox_mark" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "outbox_due_at"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "jobs_by_status_and_hold" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "held_at"
    order      = "ASCENDING"
  }
}
