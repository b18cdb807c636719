import './base.css';
import './runsview.css';
