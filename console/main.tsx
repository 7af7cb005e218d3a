import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { forgetKey, readKey } from './api-client';
import { FileList } from './file-list';
import { FilePage } from './file-page';
import { stopWatching } from './live-files';
import { SignIn } from './sign-in';
import { UploadPanel } from './upload-panel';
import { WebhooksPage } from './webhooks-page';

/** Routes live in the hash (#/files/f_…): nothing the server sees, and never the key. */
function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash.replace(/^#/, '') || '/';
}

function App() {
  const [signedIn, setSignedIn] = useState(readKey() !== null);
  const [uploaded, setUploaded] = useState<string[]>([]);
  const route = useRoute();
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const fileId = /^\/files\/(.+)$/.exec(route)?.[1];
  const signOut = () => {
    stopWatching();
    forgetKey();
    setSignedIn(false);
  };
  return (
    <>
      <header class="top">
        <h1>
          <a href="#/">Intake</a>
        </h1>
        <nav aria-label="Main">
          <a href="#/" aria-current={route === '/' ? 'page' : undefined}>
            Files
          </a>
          <a href="#/webhooks" aria-current={route === '/webhooks' ? 'page' : undefined}>
            Webhooks
          </a>
          <a href="/docs">API reference</a>
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      {fileId ? (
        <FilePage id={decodeURIComponent(fileId)} />
      ) : route === '/webhooks' ? (
        <WebhooksPage />
      ) : (
        <main>
          <UploadPanel onUploaded={(file) => setUploaded((ids) => [...ids, file.id])} />
          <FileList uploaded={uploaded} />
        </main>
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
