import { DescribeTableCommand, UpdateTableCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import { TableSchemaError } from '../errors.js';
import type { Gateway } from '../core/gateway.js';
import { STREAM_VIEW_TYPE } from './schema.js';

/** View types whose records carry the old image: the key, `userId` and the expiry of a deleted session. */
const WITH_OLD_IMAGE = new Set(['OLD_IMAGE', 'NEW_AND_OLD_IMAGES']);

/**
 * What keeps the table's stream from feeding the `expired` events of TTL
 * deletions, or undefined when nothing does: no stream, or one without the
 * old image (KEYS_ONLY lacks the owner and the expiry, NEW_IMAGE has nothing
 * of a deleted item).
 */
export function streamProblem(table: TableDescription, name: string): string | undefined {
  const spec = table.StreamSpecification;
  if (!spec?.StreamEnabled || !table.LatestStreamArn) {
    return (
      `table "${name}" has no stream: turn it on with \`npx dynamodb-session create-table --streams --table ${name}\` ` +
      `(or \`aws dynamodb update-table --table-name ${name} --stream-specification StreamEnabled=true,StreamViewType=${STREAM_VIEW_TYPE}\`)`
    );
  }
  if (!WITH_OLD_IMAGE.has(spec.StreamViewType ?? '')) {
    return (
      `the stream of table "${name}" is ${spec.StreamViewType}, whose REMOVE records lack the deleted session's owner and expiry: ` +
      `a stream's view type cannot be changed, so turn it off ` +
      `(\`aws dynamodb update-table --table-name ${name} --stream-specification StreamEnabled=false\`) ` +
      `and on again with \`npx dynamodb-session create-table --streams --table ${name}\``
    );
  }
  return undefined;
}

/** The table's stream ARN, or a TableSchemaError saying how to turn a fitting stream on. */
export async function sessionStreamArn(gateway: Gateway, table: string): Promise<string> {
  const out = await gateway.send<{ Table?: TableDescription }>('DescribeTable', new DescribeTableCommand({ TableName: table }));
  const problem = out.Table ? streamProblem(out.Table, table) : `table "${table}" does not exist`;
  if (problem) throw new TableSchemaError(table, problem);
  return out.Table!.LatestStreamArn!;
}

/**
 * Turns the stream on (view type OLD_IMAGE) unless a fitting one is on
 * already. Writing to a stream costs the table no capacity; reading it costs
 * nothing from Lambda and one streams read request unit per GetRecords call
 * otherwise. Throws TableSchemaError for a stream of another view type (it
 * cannot be changed in place).
 */
export async function enableStream(gateway: Gateway, table: string): Promise<{ changed: boolean; arn: string | undefined }> {
  const out = await gateway.send<{ Table?: TableDescription }>('DescribeTable', new DescribeTableCommand({ TableName: table }));
  const desc = out.Table;
  if (desc?.StreamSpecification?.StreamEnabled) {
    const problem = streamProblem(desc, table);
    if (problem) throw new TableSchemaError(table, problem);
    return { changed: false, arn: desc.LatestStreamArn };
  }
  const updated = await gateway.send<{ TableDescription?: TableDescription }>(
    'UpdateTable',
    new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW_TYPE } }),
  );
  return { changed: true, arn: updated.TableDescription?.LatestStreamArn };
}
