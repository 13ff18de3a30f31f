# The providers this module uses, with their sources: a module does not inherit the root's source addresses
# (versions are bounded once, in the root's versions.tf).
terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}
