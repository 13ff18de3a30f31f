# Composite indexes of fair share (contract §8, leadengine/store.py: count_active_jobs, held_jobs). The quota counts a
# user's queued and running jobs (a count() aggregation served from the index, no documents read), and the user's
# held-back jobs are read oldest first. The relay's look across users (held_at alone) needs no composite index.

resource "google_firestore_index" "jobs_active_by_user" {
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
}

resource "google_firestore_index" "jobs_held_by_user_oldest_first" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "jobs"
  query_scope = "COLLECTION"

  fields {
    field_path = "user_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "held_at"
    order      = "ASCENDING"
  }
}
