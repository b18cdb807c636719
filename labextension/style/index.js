import './base.css';
import './runsview.css';
import './runsummary.css';
import './runlist.css';
import './filter.css';
