/** The one typed Pothos builder. Fields are non-null unless they say otherwise. */
import SchemaBuilder from '@pothos/core';
import { DateTimeResolver } from 'graphql-scalars';
import type { RequestContext } from '../resolvers/context.js';

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
}>({
  defaultFieldNullability: false,
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
