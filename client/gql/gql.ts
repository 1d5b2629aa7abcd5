/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment PresenceFields on Presence {\n  userId\n  status\n  platforms\n  version\n  lastSeen {\n    at\n    ago\n    bucketSeconds\n  }\n}\n\nquery Me {\n  me {\n    id\n    status\n    manualStatus\n    privacy\n    version\n    devices {\n      deviceId\n      platform\n      activity\n    }\n    lastSeen {\n      at\n      ago\n    }\n  }\n}\n\nquery Presences($userIds: [ID!]!) {\n  presences(userIds: $userIds) {\n    ...PresenceFields\n  }\n}\n\nquery Contacts($first: Int, $after: String) {\n  contacts(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        userId\n        presence {\n          ...PresenceFields\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nsubscription Viewport($viewport: [ID!]!) {\n  presence(viewport: $viewport) {\n    snapshot\n    presences {\n      ...PresenceFields\n    }\n  }\n}\n\nmutation Heartbeat($deviceId: ID!, $platform: Platform!, $activity: Activity) {\n  heartbeat(deviceId: $deviceId, platform: $platform, activity: $activity) {\n    intervalMs\n    jitterMs\n    ttlMs\n    status\n    version\n  }\n}\n\nmutation SignOff($deviceId: ID!) {\n  signOff(deviceId: $deviceId)\n}\n\nmutation SetStatus($status: ManualStatus!) {\n  setStatus(status: $status) {\n    status\n    manualStatus\n  }\n}\n\nmutation SetPrivacy($mode: PrivacyMode!) {\n  setPrivacy(mode: $mode) {\n    privacy\n  }\n}\n\nmutation AddContact($userId: ID!) {\n  addContact(userId: $userId)\n}\n\nmutation RemoveContact($userId: ID!) {\n  removeContact(userId: $userId)\n}\n\nmutation Block($userId: ID!) {\n  block(userId: $userId)\n}\n\nmutation Unblock($userId: ID!) {\n  unblock(userId: $userId)\n}": typeof types.PresenceFieldsFragmentDoc,
};
const documents: Documents = {
    "fragment PresenceFields on Presence {\n  userId\n  status\n  platforms\n  version\n  lastSeen {\n    at\n    ago\n    bucketSeconds\n  }\n}\n\nquery Me {\n  me {\n    id\n    status\n    manualStatus\n    privacy\n    version\n    devices {\n      deviceId\n      platform\n      activity\n    }\n    lastSeen {\n      at\n      ago\n    }\n  }\n}\n\nquery Presences($userIds: [ID!]!) {\n  presences(userIds: $userIds) {\n    ...PresenceFields\n  }\n}\n\nquery Contacts($first: Int, $after: String) {\n  contacts(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        userId\n        presence {\n          ...PresenceFields\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nsubscription Viewport($viewport: [ID!]!) {\n  presence(viewport: $viewport) {\n    snapshot\n    presences {\n      ...PresenceFields\n    }\n  }\n}\n\nmutation Heartbeat($deviceId: ID!, $platform: Platform!, $activity: Activity) {\n  heartbeat(deviceId: $deviceId, platform: $platform, activity: $activity) {\n    intervalMs\n    jitterMs\n    ttlMs\n    status\n    version\n  }\n}\n\nmutation SignOff($deviceId: ID!) {\n  signOff(deviceId: $deviceId)\n}\n\nmutation SetStatus($status: ManualStatus!) {\n  setStatus(status: $status) {\n    status\n    manualStatus\n  }\n}\n\nmutation SetPrivacy($mode: PrivacyMode!) {\n  setPrivacy(mode: $mode) {\n    privacy\n  }\n}\n\nmutation AddContact($userId: ID!) {\n  addContact(userId: $userId)\n}\n\nmutation RemoveContact($userId: ID!) {\n  removeContact(userId: $userId)\n}\n\nmutation Block($userId: ID!) {\n  block(userId: $userId)\n}\n\nmutation Unblock($userId: ID!) {\n  unblock(userId: $userId)\n}": types.PresenceFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment PresenceFields on Presence {\n  userId\n  status\n  platforms\n  version\n  lastSeen {\n    at\n    ago\n    bucketSeconds\n  }\n}\n\nquery Me {\n  me {\n    id\n    status\n    manualStatus\n    privacy\n    version\n    devices {\n      deviceId\n      platform\n      activity\n    }\n    lastSeen {\n      at\n      ago\n    }\n  }\n}\n\nquery Presences($userIds: [ID!]!) {\n  presences(userIds: $userIds) {\n    ...PresenceFields\n  }\n}\n\nquery Contacts($first: Int, $after: String) {\n  contacts(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        userId\n        presence {\n          ...PresenceFields\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nsubscription Viewport($viewport: [ID!]!) {\n  presence(viewport: $viewport) {\n    snapshot\n    presences {\n      ...PresenceFields\n    }\n  }\n}\n\nmutation Heartbeat($deviceId: ID!, $platform: Platform!, $activity: Activity) {\n  heartbeat(deviceId: $deviceId, platform: $platform, activity: $activity) {\n    intervalMs\n    jitterMs\n    ttlMs\n    status\n    version\n  }\n}\n\nmutation SignOff($deviceId: ID!) {\n  signOff(deviceId: $deviceId)\n}\n\nmutation SetStatus($status: ManualStatus!) {\n  setStatus(status: $status) {\n    status\n    manualStatus\n  }\n}\n\nmutation SetPrivacy($mode: PrivacyMode!) {\n  setPrivacy(mode: $mode) {\n    privacy\n  }\n}\n\nmutation AddContact($userId: ID!) {\n  addContact(userId: $userId)\n}\n\nmutation RemoveContact($userId: ID!) {\n  removeContact(userId: $userId)\n}\n\nmutation Block($userId: ID!) {\n  block(userId: $userId)\n}\n\nmutation Unblock($userId: ID!) {\n  unblock(userId: $userId)\n}"): (typeof documents)["fragment PresenceFields on Presence {\n  userId\n  status\n  platforms\n  version\n  lastSeen {\n    at\n    ago\n    bucketSeconds\n  }\n}\n\nquery Me {\n  me {\n    id\n    status\n    manualStatus\n    privacy\n    version\n    devices {\n      deviceId\n      platform\n      activity\n    }\n    lastSeen {\n      at\n      ago\n    }\n  }\n}\n\nquery Presences($userIds: [ID!]!) {\n  presences(userIds: $userIds) {\n    ...PresenceFields\n  }\n}\n\nquery Contacts($first: Int, $after: String) {\n  contacts(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        userId\n        presence {\n          ...PresenceFields\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nsubscription Viewport($viewport: [ID!]!) {\n  presence(viewport: $viewport) {\n    snapshot\n    presences {\n      ...PresenceFields\n    }\n  }\n}\n\nmutation Heartbeat($deviceId: ID!, $platform: Platform!, $activity: Activity) {\n  heartbeat(deviceId: $deviceId, platform: $platform, activity: $activity) {\n    intervalMs\n    jitterMs\n    ttlMs\n    status\n    version\n  }\n}\n\nmutation SignOff($deviceId: ID!) {\n  signOff(deviceId: $deviceId)\n}\n\nmutation SetStatus($status: ManualStatus!) {\n  setStatus(status: $status) {\n    status\n    manualStatus\n  }\n}\n\nmutation SetPrivacy($mode: PrivacyMode!) {\n  setPrivacy(mode: $mode) {\n    privacy\n  }\n}\n\nmutation AddContact($userId: ID!) {\n  addContact(userId: $userId)\n}\n\nmutation RemoveContact($userId: ID!) {\n  removeContact(userId: $userId)\n}\n\nmutation Block($userId: ID!) {\n  block(userId: $userId)\n}\n\nmutation Unblock($userId: ID!) {\n  unblock(userId: $userId)\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;