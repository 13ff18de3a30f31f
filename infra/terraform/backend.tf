# State lives in a GCS bucket (versioned, private) named at init time, one prefix per environment:
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="prefix=leadengine/<env>"
# `make deploy` / `make plan` pass both from TF_STATE_BUCKET and ENV.
terraform {
  backend "gcs" {}
}
