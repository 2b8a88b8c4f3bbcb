#!/bin/sh
# build-workspace <workspace dir> [tsconfig] (in videoflix/node-build, WORKDIR /src, after COPY of common/ and
# the workspace): compiles common/ + the workspace into dist/ (non-TypeScript files next to the code go
# along, source maps do not), then replaces node_modules with the production dependencies of common and
# that workspace only. The workspace links (node_modules/@videoflix/*) point at sources the image does not
# carry (the compiled code imports common by relative path, dist/common): they are dropped.
#   WITH="dir..."     other folders whose files go along as they are (the API's web/: the admin console)
#   COMMON_PEERS=omit  drops common's optional peers (@kubernetes/client-node, amqplib: common/kube and
#                      common/amqp) from its manifest first, for a workspace that imports neither: npm ci
#                      would otherwise install every peer the lock holds.
set -eu
ws=$1
tsconfig=${2:-tsconfig.build.json}
node node_modules/typescript/bin/tsc -p "$tsconfig"
find common "$ws" -type f ! -name '*.ts' ! -name '*.md' ! -name '*.json' -exec cp --parents {} dist/ \;
for dir in ${WITH:-}; do find "$dir" -type f ! -name '*.md' -exec cp --parents {} dist/ \;; done
find dist -name '*.map' -delete
if [ "${COMMON_PEERS:-keep}" = omit ]; then
  node -e "const f='common/package.json',fs=require('fs'),m=JSON.parse(fs.readFileSync(f));delete m.peerDependencies;delete m.peerDependenciesMeta;fs.writeFileSync(f,JSON.stringify(m))"
fi
npm ci --omit=dev --workspace common --workspace "$ws" --loglevel=warn
rm -rf node_modules/@videoflix /root/.npm
