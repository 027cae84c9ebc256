// event.locals.session, typed in every hook, load, action and endpoint.
import type { RequestSession } from 'dynamodb-session-manager/sveltekit';

declare global {
  namespace App {
    interface Locals {
      session: RequestSession;
    }
  }
}

export {};
