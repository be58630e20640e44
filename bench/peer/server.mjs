// The benchmark's peer (bench/peer.py): @neo4j/graphql on Apollo Server, over the store `directory serve`
// uses (same Bolt endpoint, same database). Env: PEER_PORT, PEER_BOLT_URI, PEER_BOLT_PASSWORD,
// PEER_DATABASE (default "directory"). Prints "ready <url>" once it listens on 127.0.0.1.
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

// The graph as the project stores it: labels, property names and relationship types.
const typeDefs = /* GraphQL */ `
  type Organisation @node {
    id: ID!
    name: String!
    kind: String!
    visibility: String!
    owner: String
    country: String
    subdivision: String
    precision: String
    languages: [String!]
    updatedAt: String @alias(property: "updated_at")
    services: [Service!]! @relationship(type: "OFFERS", direction: OUT)
    basedIn: [Place!]! @relationship(type: "BASED_IN", direction: OUT)
    refersTo: [Organisation!]! @relationship(type: "REFERS_TO", direction: OUT, properties: "Referral")
    referredBy: [Organisation!]! @relationship(type: "REFERS_TO", direction: IN, properties: "Referral")
  }
  type Referral @relationshipProperties {
    visibility: String!
    responseHours: Float @alias(property: "response_hours")
    formal: Boolean
    trust: Float
  }
  type Service @node {
    id: ID!
    name: String!
    type: String!
    visibility: String!
    owner: String
    organisation: String!
    status: String
    responseHours: Float @alias(property: "response_hours")
    languages: [String!]
    availableIn: [Place!]! @relationship(type: "AVAILABLE_IN", direction: OUT, properties: "Availability")
    serves: [DefenderGroup!]! @relationship(type: "SERVES", direction: OUT)
    providers: [Organisation!]! @relationship(type: "OFFERS", direction: IN)
  }
  type Availability @relationshipProperties {
    presence: String!
  }
  type Place @node {
    code: String!
    name: String
    kind: String
    country: String
    partOf: [Place!]! @relationship(type: "PART_OF", direction: OUT)
  }
  type DefenderGroup @node {
    code: String!
  }
`;

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const database = process.env.PEER_DATABASE || "directory";
const driver = neo4j.driver(env("PEER_BOLT_URI"), neo4j.auth.basic("root", env("PEER_BOLT_PASSWORD")),
  { maxConnectionPoolSize: 50 });
const server = new ApolloServer({ schema: await new Neo4jGraphQL({ typeDefs, driver }).getSchema() });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(env("PEER_PORT")), host: "127.0.0.1" },
  // ArcadeDB's Bolt refuses the "CYPHER 5" prefix the library puts before every statement by default.
  context: async () => ({ sessionConfig: { database }, cypherQueryOptions: { addVersionPrefix: false } }),
});
console.log(`ready ${url}`);

const stop = async () => { await server.stop(); await driver.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
