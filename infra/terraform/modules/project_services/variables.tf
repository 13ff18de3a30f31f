variable "project_id" {
  type        = string
  description = "Project whose APIs are enabled."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}
