import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Item } from './item.js';
import type { StoreContext } from './store-context.js';

/**
 * The `:value` placeholders an expression and condition use: DynamoDB refuses
 * values the expressions do not name. A store only ever builds a handful of
 * distinct expressions, so each is scanned once.
 */
const placeholderCache = new Map<string, readonly string[]>();
function placeholders(expression: string, condition: string | undefined): readonly string[] {
  const text = condition === undefined ? expression : `${expression} ${condition}`;
  let names = placeholderCache.get(text);
  if (!names) {
    names = [...new Set(text.match(/:[A-Za-z0-9_]+/g))];
    if (placeholderCache.size < 256) placeholderCache.set(text, names);
  }
  return names;
}

/** The values an expression and condition name: DynamoDB refuses any other. */
export function usedValues(values: Record<string, AttributeValue>, expression: string, condition: string | undefined): Record<string, AttributeValue> {
  const used: Record<string, AttributeValue> = {};
  for (const name of placeholders(expression, condition)) used[name] = values[name]!;
  return used;
}

/**
 * One UpdateItem on a session item: `values` may hold more than the
 * expressions name (only the named ones are sent). A conditional one asks for
 * the item a failed condition found (ALL_OLD: it costs nothing more) and
 * rejects with the ConditionalCheckFailedException; the caller reads what it
 * found through `gateway.itemAfterConditionFailure`. Resolves with the stored
 * version when `returnVersion` (an increment whose result the caller cannot know).
 */
export async function updateItem(
  ctx: StoreContext,
  key: string,
  expression: string,
  condition: string | undefined,
  values: Record<string, AttributeValue>,
  returnVersion = false,
): Promise<number | undefined> {
  const used = usedValues(values, expression, condition);
  const out = await ctx.gateway.send<{ Attributes?: Item }>(
    'UpdateItem',
    new UpdateItemCommand({
      TableName: ctx.config.table,
      Key: { sessionId: { S: key } },
      UpdateExpression: expression,
      ...(expression.includes('#data') ? { ExpressionAttributeNames: { '#data': 'data' } } : {}),
      ...(condition ? { ConditionExpression: condition, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
      ExpressionAttributeValues: used,
      // Reading the answer is not billed.
      ...(returnVersion ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
    }),
    { expectConditionFailure: condition !== undefined },
  );
  return out.Attributes?.version?.N !== undefined ? Number(out.Attributes.version.N) : undefined;
}
