/** The schema: each entity file adds its types and fields to the one builder. */
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './enums.js';
import './presence.js';
import './viewer.js';
import './devices.js';
import './contacts.js';
import './subscription.js';

export const schema: GraphQLSchema = builder.toSchema();

/** The SDL kept in schema/schema.graphql (sorted, so it diffs well); a test fails when they drift. */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
