#!/bin/sh
# The shell step's results into an MLflow tracking server through its REST API, with curl: no Python.
# usage: sh mlflow_log.sh TRACKING_URL EXPERIMENT_ID STATS.yaml
set -eu
api="$1/api/2.0/mlflow"
now="$(date +%s)000"
post() { curl -sSf -X POST "$api/$1" -H 'Content-Type: application/json' -d "$2"; }
created=$(post runs/create "{\"experiment_id\": \"$2\", \"run_name\": \"shell-stats\", \"start_time\": $now,
  \"tags\": [{\"key\": \"mlflow.source.name\", \"value\": \"stats.sh\"}, {\"key\": \"mlflow.user\", \"value\": \"${USER:-shell}\"}]}")
run=$(printf '%s' "$created" | sed -n 's/.*"run_id": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$run" ] || { echo "mlflow_log.sh: no run id in $created" >&2; exit 1; }
metrics=""
while IFS= read -r line; do
    key=${line%%:*}
    value=$(printf '%s' "${line#*:}" | tr -d ' ')
    metrics="$metrics{\"key\": \"$key\", \"value\": $value, \"timestamp\": $now, \"step\": 0},"
done < "$3"
post runs/log-batch "{\"run_id\": \"$run\", \"metrics\": [${metrics%,}]}" > /dev/null
post runs/update "{\"run_id\": \"$run\", \"status\": \"FINISHED\", \"end_time\": $(date +%s)000}" > /dev/null
echo "mlflow run $run"
