/**
 * The input file of POST /v1/batches: found (the caller's, purpose "batch"), its lines read again as
 * requests, and a first pass over them before anything is created.
 */
import type { Config } from '../../config';
import type { BatchLine } from '../../shared/contracts';
import type { FileStore, StoredFile } from '../../storage/files';
import type { NumberedLine } from '../createBatch';
import { UPLOADED_FILE_ID } from '../ids';
import { checkLine, splitLines } from '../lines';
import { invalidRequest, notFound } from './errors';

/** What the first pass learns: the count, and the batch's one model (null when its lines use several). */
export interface InputSummary {
  total: number;
  model: string | null;
}

export class BatchInput {
  constructor(
    private readonly files: FileStore,
    private readonly config: Config,
  ) {}

  /** The caller's uploaded batch file; another tenant's is as absent as a missing one. */
  async find(fileId: string, tenant: string): Promise<StoredFile> {
    if (!UPLOADED_FILE_ID.test(fileId)) throw notFound(`No such File object: ${fileId}`, 'input_file_id');
    const input = await this.files.get(fileId);
    if (!input || input.tenant !== tenant) throw notFound(`No such File object: ${fileId}`, 'input_file_id');
    if (input.purpose !== 'batch')
      throw invalidRequest(
        `File ${input.id} has purpose '${input.purpose}', not 'batch'.`,
        'input_file_id',
        'invalid_file_purpose',
      );
    return input;
  }

  /**
   * The input file's requests, checked again (the file is ours, but it is read from disk), with the
   * default model filled in.
   */
  async *lines(fileId: string): AsyncIterable<NumberedLine> {
    const content = await this.files.open(fileId);
    if (!content) throw notFound(`No such File object: ${fileId}`, 'input_file_id');
    for await (const { line, text } of splitLines(content)) {
      const checked = checkLine(text);
      if (!checked.ok)
        throw invalidRequest(`Invalid input file: Line ${line}: ${checked.reason}`, 'input_file_id', checked.code);
      const request = checked.line;
      // The default model, so the summary compares what will run (createBatch refuses a line with neither).
      const { defaultModel } = this.config.batch;
      if ((typeof request.body.model !== 'string' || request.body.model === '') && defaultModel)
        request.body.model = defaultModel;
      yield { at: line, request };
    }
  }

  /** First pass: every line's url is the batch's endpoint; the count and the model, for the record. */
  async summarize(fileId: string, endpoint: string): Promise<InputSummary> {
    let total = 0;
    let first: BatchLine | undefined;
    let other: BatchLine | undefined;
    for await (const { at, request } of this.lines(fileId)) {
      if (request.url !== endpoint) {
        throw invalidRequest(
          `Invalid input file: Line ${at}: url ${JSON.stringify(request.url)} ` +
            `does not match the batch endpoint ${JSON.stringify(endpoint)}`,
          'input_file_id',
          'mismatched_url',
        );
      }
      total += 1;
      if (!first) first = request;
      else if (!other && request.body.model !== first.body.model) other = request;
    }
    if (!first) throw invalidRequest('Invalid input file: it contains no requests.', 'input_file_id', 'empty_file');
    return { total, model: other ? null : (first.body.model as string) };
  }
}
