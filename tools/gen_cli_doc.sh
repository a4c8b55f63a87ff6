#!/usr/bin/env bash
# Writes docs/CLI.md's content (every command's --help) to stdout. Usage: tools/gen_cli_doc.sh [MIXBT]
set -eu
mixbt=${1:-build/mixbt}
echo "# Commands and flags"
echo
echo "Generated from \`mixbt COMMAND --help\` (\`tools/gen_cli_doc.sh > docs/CLI.md\` regenerates it)."
for c in $("$mixbt" --help | awk '/^commands:/ {on = 1; next} on && !NF {exit} on {print $1}'); do
  echo
  echo "## mixbt $c"
  echo
  echo '```'
  "$mixbt" "$c" --help 2>&1
  echo '```'
done
echo
echo "## Environment"
echo
echo '```'
"$mixbt" --help | awk '/^environment:/ {on = 1; next} on'
echo '```'
