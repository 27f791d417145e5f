import { createContext, useContext } from 'hono/jsx';
import { NameBook } from '../accounts.js';

/** Who is who, for every page: the layout provides it, `ActorName` reads it. */
export const NamesContext = createContext<NameBook>(new NameBook([]));

/**
 * The author of a change as a person reads it: the display name their account had at `at` (the
 * time of the change), linked to their page; an actor that is no account, as recorded.
 */
export function ActorName(props: { actor: string | null; at?: Date }) {
  const names = useContext(NamesContext);
  const name = names.nameAt(props.actor, props.at);
  if (props.actor === null) return <>{name}</>;
  return <a href={actorHref(props.actor, names)}>{name}</a>;
}

/** The page listing every change one actor made: the account's page, or the name's. */
export function actorHref(actor: string, names: NameBook): string {
  return names.isAccount(actor) ? `/accounts/${actor}` : `/activity/actor?name=${encodeURIComponent(actor)}`;
}
