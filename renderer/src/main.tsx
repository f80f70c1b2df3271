/**
 * Entry point of the mail window. The connection is planned before React renders, so in
 * browser mode the access token leaves the address bar at the earliest moment.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App.js';
import { openConnection, planConnection, watchForNewAddress } from './connection.js';
import './styles.css';

const plan = planConnection();

const container = document.getElementById('root');
if (container === null) throw new Error('Sealpost: the page has no #root element.');

createRoot(container).render(
  <StrictMode>
    <App initialPlan={plan} open={openConnection} watchPlans={watchForNewAddress} />
  </StrictMode>,
);
