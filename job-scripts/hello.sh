#!/bin/sh
# An example for the run-script handler (POST /jobs/run-script {"script": "hello.sh", "args": ["world"]}):
# greets its first argument and exits 0. Runs without a shell around it, in this folder, with a
# minimal environment plus JOBS_EXECUTION_ID and JOBS_JOB_ID.
printf 'Hello, %s!\n' "${1:-world}"
