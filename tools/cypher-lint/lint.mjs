// Reads {"name": "cypher text", ...} as JSON on stdin; lints each with Neo4j's own parser and
// semantic analysis (@neo4j-cypher/language-support); prints one JSON line per problem.
import { lintCypherQuery } from '@neo4j-cypher/language-support';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const queries = JSON.parse(input);
let problems = 0;
for (const [name, text] of Object.entries(queries)) {
  const parameters = {};
  for (const m of text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) parameters[m[1]] = 'ANY';
  const { diagnostics } = lintCypherQuery(text, { parameters });
  for (const d of diagnostics) {
    problems += 1;
    const severity = d.severity === 1 ? 'error' : 'warning';
    console.log(JSON.stringify({ name, severity, line: d.range.start.line + 1, message: d.message }));
  }
}
console.error(`linted ${Object.keys(queries).length} Cypher statements against Neo4j 5: ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
