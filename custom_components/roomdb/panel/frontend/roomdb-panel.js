// RoomDB panel, built by frontend/build.mjs from sources sha256:1cbad7a6b6f524280c038781551b9696134e495d43ca32c5011c74fc38be297e
var H=globalThis,L=H.ShadowRoot&&(H.ShadyCSS===void 0||H.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,j=Symbol(),it=new WeakMap,k=class{constructor(t,e,s){if(this._$cssResult$=!0,s!==j)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=t,this.t=e}get styleSheet(){let t=this.o,e=this.t;if(L&&t===void 0){let s=e!==void 0&&e.length===1;s&&(t=it.get(e)),t===void 0&&((this.o=t=new CSSStyleSheet).replaceSync(this.cssText),s&&it.set(e,t))}return t}toString(){return this.cssText}},rt=o=>new k(typeof o=="string"?o:o+"",void 0,j),I=(o,...t)=>{let e=o.length===1?o[0]:t.reduce((s,i,r)=>s+(n=>{if(n._$cssResult$===!0)return n.cssText;if(typeof n=="number")return n;throw Error("Value passed to 'css' function must be a 'css' function result: "+n+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(i)+o[r+1],o[0]);return new k(e,o,j)},ot=(o,t)=>{if(L)o.adoptedStyleSheets=t.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of t){let s=document.createElement("style"),i=H.litNonce;i!==void 0&&s.setAttribute("nonce",i),s.textContent=e.cssText,o.appendChild(s)}},W=L?o=>o:o=>o instanceof CSSStyleSheet?(t=>{let e="";for(let s of t.cssRules)e+=s.cssText;return rt(e)})(o):o;var{is:At,defineProperty:xt,getOwnPropertyDescriptor:St,getOwnPropertyNames:Et,getOwnPropertySymbols:Ct,getPrototypeOf:kt}=Object,D=globalThis,nt=D.trustedTypes,Nt=nt?nt.emptyScript:"",Mt=D.reactiveElementPolyfillSupport,N=(o,t)=>o,V={toAttribute(o,t){switch(t){case Boolean:o=o?Nt:null;break;case Object:case Array:o=o==null?o:JSON.stringify(o)}return o},fromAttribute(o,t){let e=o;switch(t){case Boolean:e=o!==null;break;case Number:e=o===null?null:Number(o);break;case Object:case Array:try{e=JSON.parse(o)}catch{e=null}}return e}},lt=(o,t)=>!At(o,t),at={attribute:!0,type:String,converter:V,reflect:!1,useDefault:!1,hasChanged:lt};Symbol.metadata??=Symbol("metadata"),D.litPropertyMetadata??=new WeakMap;var m=class extends HTMLElement{static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(t,e=at){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(t,e),!e.noAccessor){let s=Symbol(),i=this.getPropertyDescriptor(t,s,e);i!==void 0&&xt(this.prototype,t,i)}}static getPropertyDescriptor(t,e,s){let{get:i,set:r}=St(this.prototype,t)??{get(){return this[e]},set(n){this[e]=n}};return{get:i,set(n){let c=i?.call(this);r?.call(this,n),this.requestUpdate(t,c,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(t){return this.elementProperties.get(t)??at}static _$Ei(){if(this.hasOwnProperty(N("elementProperties")))return;let t=kt(this);t.finalize(),t.l!==void 0&&(this.l=[...t.l]),this.elementProperties=new Map(t.elementProperties)}static finalize(){if(this.hasOwnProperty(N("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(N("properties"))){let e=this.properties,s=[...Et(e),...Ct(e)];for(let i of s)this.createProperty(i,e[i])}let t=this[Symbol.metadata];if(t!==null){let e=litPropertyMetadata.get(t);if(e!==void 0)for(let[s,i]of e)this.elementProperties.set(s,i)}this._$Eh=new Map;for(let[e,s]of this.elementProperties){let i=this._$Eu(e,s);i!==void 0&&this._$Eh.set(i,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(t){let e=[];if(Array.isArray(t)){let s=new Set(t.flat(1/0).reverse());for(let i of s)e.unshift(W(i))}else t!==void 0&&e.push(W(t));return e}static _$Eu(t,e){let s=e.attribute;return s===!1?void 0:typeof s=="string"?s:typeof t=="string"?t.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(t=>this.enableUpdating=t),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(t=>t(this))}addController(t){(this._$EO??=new Set).add(t),this.renderRoot!==void 0&&this.isConnected&&t.hostConnected?.()}removeController(t){this._$EO?.delete(t)}_$E_(){let t=new Map,e=this.constructor.elementProperties;for(let s of e.keys())this.hasOwnProperty(s)&&(t.set(s,this[s]),delete this[s]);t.size>0&&(this._$Ep=t)}createRenderRoot(){let t=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return ot(t,this.constructor.elementStyles),t}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(t=>t.hostConnected?.())}enableUpdating(t){}disconnectedCallback(){this._$EO?.forEach(t=>t.hostDisconnected?.())}attributeChangedCallback(t,e,s){this._$AK(t,s)}_$ET(t,e){let s=this.constructor.elementProperties.get(t),i=this.constructor._$Eu(t,s);if(i!==void 0&&s.reflect===!0){let r=(s.converter?.toAttribute!==void 0?s.converter:V).toAttribute(e,s.type);this._$Em=t,r==null?this.removeAttribute(i):this.setAttribute(i,r),this._$Em=null}}_$AK(t,e){let s=this.constructor,i=s._$Eh.get(t);if(i!==void 0&&this._$Em!==i){let r=s.getPropertyOptions(i),n=typeof r.converter=="function"?{fromAttribute:r.converter}:r.converter?.fromAttribute!==void 0?r.converter:V;this._$Em=i;let c=n.fromAttribute(e,r.type);this[i]=c??this._$Ej?.get(i)??c,this._$Em=null}}requestUpdate(t,e,s,i=!1,r){if(t!==void 0){let n=this.constructor;if(i===!1&&(r=this[t]),s??=n.getPropertyOptions(t),!((s.hasChanged??lt)(r,e)||s.useDefault&&s.reflect&&r===this._$Ej?.get(t)&&!this.hasAttribute(n._$Eu(t,s))))return;this.C(t,e,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(t,e,{useDefault:s,reflect:i,wrapped:r},n){s&&!(this._$Ej??=new Map).has(t)&&(this._$Ej.set(t,n??e??this[t]),r!==!0||n!==void 0)||(this._$AL.has(t)||(this.hasUpdated||s||(e=void 0),this._$AL.set(t,e)),i===!0&&this._$Em!==t&&(this._$Eq??=new Set).add(t))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let t=this.scheduleUpdate();return t!=null&&await t,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[i,r]of this._$Ep)this[i]=r;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[i,r]of s){let{wrapped:n}=r,c=this[i];n!==!0||this._$AL.has(i)||c===void 0||this.C(i,void 0,r,c)}}let t=!1,e=this._$AL;try{t=this.shouldUpdate(e),t?(this.willUpdate(e),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(e)):this._$EM()}catch(s){throw t=!1,this._$EM(),s}t&&this._$AE(e)}willUpdate(t){}_$AE(t){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(t)),this.updated(t)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(t){return!0}update(t){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(t){}firstUpdated(t){}};m.elementStyles=[],m.shadowRootOptions={mode:"open"},m[N("elementProperties")]=new Map,m[N("finalized")]=new Map,Mt?.({ReactiveElement:m}),(D.reactiveElementVersions??=[]).push("2.1.2");var Q=globalThis,ht=o=>o,z=Q.trustedTypes,dt=z?z.createPolicy("lit-html",{createHTML:o=>o}):void 0,$t="$lit$",g=`lit$${Math.random().toFixed(9).slice(2)}$`,gt="?"+g,Pt=`<${gt}>`,y=document,P=()=>y.createComment(""),R=o=>o===null||typeof o!="object"&&typeof o!="function",X=Array.isArray,Rt=o=>X(o)||typeof o?.[Symbol.iterator]=="function",q=`[ 	
\f\r]`,M=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,ct=/-->/g,pt=/>/g,b=RegExp(`>|${q}(?:([^\\s"'>=/]+)(${q}*=${q}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),ut=/'/g,_t=/"/g,ft=/^(?:script|style|textarea|title)$/i,Y=o=>(t,...e)=>({_$litType$:o,strings:t,values:e}),a=Y(1),bt=Y(2),It=Y(3),w=Symbol.for("lit-noChange"),l=Symbol.for("lit-nothing"),mt=new WeakMap,v=y.createTreeWalker(y,129);function vt(o,t){if(!X(o)||!o.hasOwnProperty("raw"))throw Error("invalid template strings array");return dt!==void 0?dt.createHTML(t):t}var Tt=(o,t)=>{let e=o.length-1,s=[],i,r=t===2?"<svg>":t===3?"<math>":"",n=M;for(let c=0;c<e;c++){let h=o[c],p,u,d=-1,_=0;for(;_<h.length&&(n.lastIndex=_,u=n.exec(h),u!==null);)_=n.lastIndex,n===M?u[1]==="!--"?n=ct:u[1]!==void 0?n=pt:u[2]!==void 0?(ft.test(u[2])&&(i=RegExp("</"+u[2],"g")),n=b):u[3]!==void 0&&(n=b):n===b?u[0]===">"?(n=i??M,d=-1):u[1]===void 0?d=-2:(d=n.lastIndex-u[2].length,p=u[1],n=u[3]===void 0?b:u[3]==='"'?_t:ut):n===_t||n===ut?n=b:n===ct||n===pt?n=M:(n=b,i=void 0);let $=n===b&&o[c+1].startsWith("/>")?" ":"";r+=n===M?h+Pt:d>=0?(s.push(p),h.slice(0,d)+$t+h.slice(d)+g+$):h+g+(d===-2?c:$)}return[vt(o,r+(o[e]||"<?>")+(t===2?"</svg>":t===3?"</math>":"")),s]},T=class o{constructor({strings:t,_$litType$:e},s){let i;this.parts=[];let r=0,n=0,c=t.length-1,h=this.parts,[p,u]=Tt(t,e);if(this.el=o.createElement(p,s),v.currentNode=this.el.content,e===2||e===3){let d=this.el.content.firstChild;d.replaceWith(...d.childNodes)}for(;(i=v.nextNode())!==null&&h.length<c;){if(i.nodeType===1){if(i.hasAttributes())for(let d of i.getAttributeNames())if(d.endsWith($t)){let _=u[n++],$=i.getAttribute(d).split(g),O=/([.?@])?(.*)/.exec(_);h.push({type:1,index:r,name:O[2],strings:$,ctor:O[1]==="."?F:O[1]==="?"?K:O[1]==="@"?Z:E}),i.removeAttribute(d)}else d.startsWith(g)&&(h.push({type:6,index:r}),i.removeAttribute(d));if(ft.test(i.tagName)){let d=i.textContent.split(g),_=d.length-1;if(_>0){i.textContent=z?z.emptyScript:"";for(let $=0;$<_;$++)i.append(d[$],P()),v.nextNode(),h.push({type:2,index:++r});i.append(d[_],P())}}}else if(i.nodeType===8)if(i.data===gt)h.push({type:2,index:r});else{let d=-1;for(;(d=i.data.indexOf(g,d+1))!==-1;)h.push({type:7,index:r}),d+=g.length-1}r++}}static createElement(t,e){let s=y.createElement("template");return s.innerHTML=t,s}};function S(o,t,e=o,s){if(t===w)return t;let i=s!==void 0?e._$Co?.[s]:e._$Cl,r=R(t)?void 0:t._$litDirective$;return i?.constructor!==r&&(i?._$AO?.(!1),r===void 0?i=void 0:(i=new r(o),i._$AT(o,e,s)),s!==void 0?(e._$Co??=[])[s]=i:e._$Cl=i),i!==void 0&&(t=S(o,i._$AS(o,t.values),i,s)),t}var J=class{constructor(t,e){this._$AV=[],this._$AN=void 0,this._$AD=t,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(t){let{el:{content:e},parts:s}=this._$AD,i=(t?.creationScope??y).importNode(e,!0);v.currentNode=i;let r=v.nextNode(),n=0,c=0,h=s[0];for(;h!==void 0;){if(n===h.index){let p;h.type===2?p=new U(r,r.nextSibling,this,t):h.type===1?p=new h.ctor(r,h.name,h.strings,this,t):h.type===6&&(p=new G(r,this,t)),this._$AV.push(p),h=s[++c]}n!==h?.index&&(r=v.nextNode(),n++)}return v.currentNode=y,i}p(t){let e=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(t,s,e),e+=s.strings.length-2):s._$AI(t[e])),e++}},U=class o{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(t,e,s,i){this.type=2,this._$AH=l,this._$AN=void 0,this._$AA=t,this._$AB=e,this._$AM=s,this.options=i,this._$Cv=i?.isConnected??!0}get parentNode(){let t=this._$AA.parentNode,e=this._$AM;return e!==void 0&&t?.nodeType===11&&(t=e.parentNode),t}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(t,e=this){t=S(this,t,e),R(t)?t===l||t==null||t===""?(this._$AH!==l&&this._$AR(),this._$AH=l):t!==this._$AH&&t!==w&&this._(t):t._$litType$!==void 0?this.$(t):t.nodeType!==void 0?this.T(t):Rt(t)?this.k(t):this._(t)}O(t){return this._$AA.parentNode.insertBefore(t,this._$AB)}T(t){this._$AH!==t&&(this._$AR(),this._$AH=this.O(t))}_(t){this._$AH!==l&&R(this._$AH)?this._$AA.nextSibling.data=t:this.T(y.createTextNode(t)),this._$AH=t}$(t){let{values:e,_$litType$:s}=t,i=typeof s=="number"?this._$AC(t):(s.el===void 0&&(s.el=T.createElement(vt(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===i)this._$AH.p(e);else{let r=new J(i,this),n=r.u(this.options);r.p(e),this.T(n),this._$AH=r}}_$AC(t){let e=mt.get(t.strings);return e===void 0&&mt.set(t.strings,e=new T(t)),e}k(t){X(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,s,i=0;for(let r of t)i===e.length?e.push(s=new o(this.O(P()),this.O(P()),this,this.options)):s=e[i],s._$AI(r),i++;i<e.length&&(this._$AR(s&&s._$AB.nextSibling,i),e.length=i)}_$AR(t=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);t!==this._$AB;){let s=ht(t).nextSibling;ht(t).remove(),t=s}}setConnected(t){this._$AM===void 0&&(this._$Cv=t,this._$AP?.(t))}},E=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(t,e,s,i,r){this.type=1,this._$AH=l,this._$AN=void 0,this.element=t,this.name=e,this._$AM=i,this.options=r,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=l}_$AI(t,e=this,s,i){let r=this.strings,n=!1;if(r===void 0)t=S(this,t,e,0),n=!R(t)||t!==this._$AH&&t!==w,n&&(this._$AH=t);else{let c=t,h,p;for(t=r[0],h=0;h<r.length-1;h++)p=S(this,c[s+h],e,h),p===w&&(p=this._$AH[h]),n||=!R(p)||p!==this._$AH[h],p===l?t=l:t!==l&&(t+=(p??"")+r[h+1]),this._$AH[h]=p}n&&!i&&this.j(t)}j(t){t===l?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,t??"")}},F=class extends E{constructor(){super(...arguments),this.type=3}j(t){this.element[this.name]=t===l?void 0:t}},K=class extends E{constructor(){super(...arguments),this.type=4}j(t){this.element.toggleAttribute(this.name,!!t&&t!==l)}},Z=class extends E{constructor(t,e,s,i,r){super(t,e,s,i,r),this.type=5}_$AI(t,e=this){if((t=S(this,t,e,0)??l)===w)return;let s=this._$AH,i=t===l&&s!==l||t.capture!==s.capture||t.once!==s.once||t.passive!==s.passive,r=t!==l&&(s===l||i);i&&this.element.removeEventListener(this.name,this,s),r&&this.element.addEventListener(this.name,this,t),this._$AH=t}handleEvent(t){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,t):this._$AH.handleEvent(t)}},G=class{constructor(t,e,s){this.element=t,this.type=6,this._$AN=void 0,this._$AM=e,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(t){S(this,t)}};var Ut=Q.litHtmlPolyfillSupport;Ut?.(T,U),(Q.litHtmlVersions??=[]).push("3.3.3");var yt=(o,t,e)=>{let s=e?.renderBefore??t,i=s._$litPart$;if(i===void 0){let r=e?.renderBefore??null;s._$litPart$=i=new U(t.insertBefore(P(),r),r,void 0,e??{})}return i._$AI(o),i};var tt=globalThis,f=class extends m{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let t=super.createRenderRoot();return this.renderOptions.renderBefore??=t.firstChild,t}update(t){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(t),this._$Do=yt(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return w}};f._$litElement$=!0,f.finalized=!0,tt.litElementHydrateSupport?.({LitElement:f});var Ot=tt.litElementPolyfillSupport;Ot?.({LitElement:f});(tt.litElementVersions??=[]).push("4.2.2");function B(o,t){let e=new Intl.DateTimeFormat("en-CA",{timeZone:t,year:"numeric",month:"2-digit",day:"2-digit",hour:"2-digit",minute:"2-digit",hourCycle:"h23"}),s={};for(let i of e.formatToParts(new Date(o)))s[i.type]=i.value;return s}function A(o,t){let e=B(o,t);return`${e.year}-${e.month}-${e.day} ${e.hour}:${e.minute}`}function x(o,t){let e=B(o,t);return`${e.hour}:${e.minute}`}function et(o,t){let e=B(o,t);return`${e.year}-${e.month}-${e.day}T${e.hour}:${e.minute}`}function wt(o,t){let e=B(o,t),s=Number(e.hour)*60+Number(e.minute);return Math.floor(((s-720)%1440+1440)%1440/15)}var Ht={capability_missing:"not in the room's capabilities",segment_missing:"needs a segment_id",unknown_room:"room not in the mapping",unknown_domain:"unknown config domain"},C=o=>o&&o.message||String(o),st=class extends f{static properties={hass:{attribute:!1},narrow:{type:Boolean},panel:{attribute:!1},_rooms:{state:!0},_mapping:{state:!0},_status:{state:!0},_sleep:{state:!0},_loadError:{state:!0},_room:{state:!0},_domain:{state:!0},_draft:{state:!0},_configMessage:{state:!0},_mappingMessage:{state:!0},_overwrite:{state:!0},_labelNight:{state:!0},_labelMessage:{state:!0}};constructor(){super(),this._loaded=!1,this._room="",this._domain="",this._draft="{}",this._overwrite=!1}updated(t){t.has("hass")&&this.hass&&!this._loaded&&(this._loaded=!0,this._refresh())}_ws(t,e={}){return this.hass.callWS({type:t,...e})}async _refresh(){try{let[t,e,s,i]=await Promise.all([this._ws("roomdb/rooms/list"),this._ws("roomdb/mapping/status"),this._ws("roomdb/status/get"),this._ws("roomdb/sleep/nights",{nights:14})]);this._rooms=t,this._mapping=e,this._status=s,this._sleep=i,this._loadError=void 0,!this._room&&t.rooms.length&&this._select(t.rooms[0].room_id,t.domains[0])}catch(t){this._loadError=C(t)}}_stored(t,e){return[...this._rooms?.rooms??[],...this._rooms?.unmapped??[]].find(i=>i.room_id===t)?.configs?.[e]}_select(t,e){this._room=t,this._domain=e;let s=this._stored(t,e);this._draft=JSON.stringify(s?s.config_data:{},null,2),this._configMessage=void 0}async _save(){let t;try{t=JSON.parse(this._draft)}catch(e){this._configMessage={error:!0,text:`The configuration is not JSON: ${e.message}`};return}if(t===null||typeof t!="object"||Array.isArray(t)){this._configMessage={error:!0,text:"The configuration must be a JSON object."};return}try{let e=await this._ws("roomdb/config/update",{domain:this._domain,room_id:this._room,config_data:t});this._configMessage={error:!1,text:`Saved ${e.domain} of ${e.room_id}: version ${e.version} (${e.action}).`},await this._refresh()}catch(e){this._configMessage={error:!0,text:C(e)}}}async _delete(){try{let t=await this._ws("roomdb/config/delete",{domain:this._domain,room_id:this._room});this._configMessage={error:!1,text:t.deleted?`Deleted ${t.domain} of ${t.room_id} (was version ${t.version}).`:`${t.room_id} holds no ${t.domain} configuration.`},await this._refresh(),this._draft="{}"}catch(t){this._configMessage={error:!0,text:C(t)}}}async _generate(){try{let t=await this._ws("roomdb/mapping/generate",{overwrite:this._overwrite});this._mappingMessage={error:!1,text:`Wrote ${t.path} with ${t.rooms} rooms from your areas.`},await this._refresh()}catch(t){this._mappingMessage={error:!0,text:C(t)}}}_editLabel(t){let e=this._sleep.time_zone,s=t.label?.start??t.suggestion?.bedtime??t.bedtime_estimate,i=t.label?.end??t.suggestion?.wake??t.wake_estimate;this._labelNight={night_date:t.night_date,bedtime:s?et(s,e):`${t.night_date}T23:00`,wake:i?et(i,e):`${Lt(t.night_date)}T07:00`},this._labelMessage=void 0}async _saveLabel(){let{night_date:t,bedtime:e,wake:s}=this._labelNight;try{let i=await this._ws("roomdb/sleep/label_set",{night_date:t,bedtime:e,wake:s}),r=this._sleep.time_zone;this._labelMessage={error:!1,text:`Label of ${t} stored: ${A(i.start,r)} to ${A(i.end,r)}.`},this._labelNight=void 0,await this._refresh()}catch(i){this._labelMessage={error:!0,text:C(i)}}}async _confirmSuggestion(t){let e=t.night_date;try{let s=await this._ws("roomdb/sleep/suggestion_confirm",{night_date:e}),i=this._sleep.time_zone,r=s.nights_needed?` ${s.nights_needed} more nights until the sleep model trains.`:"";this._labelMessage={error:!1,text:`Night of ${e} confirmed: ${A(s.start,i)} to ${A(s.end,i)}.${r}`},await this._refresh()}catch(s){this._labelMessage={error:!0,text:C(s)}}}render(){return a`
      <div class="toolbar">
        <ha-menu-button .hass=${this.hass} .narrow=${this.narrow}></ha-menu-button>
        <h1>RoomDB</h1>
        <button id="refresh" @click=${this._refresh}>Refresh</button>
      </div>
      <main>
        ${this._loadError?a`<p class="error" id="load-error">${this._loadError}</p>`:l}
        ${this._rooms?this._renderRooms():a`<p>Loading…</p>`}
        ${this._rooms?this._renderEditor():l}
        ${this._mapping?this._renderMapping():l}
        ${this._sleep?this._renderSleep():l}
        ${this._status?this._renderHealth():l}
      </main>
    `}_renderRooms(){let{domains:t,rooms:e,unmapped:s}=this._rooms;return a`
      <section id="matrix">
        <h2>Rooms and config domains</h2>
        <p class="hint">
          What the area mapping allows in each room, and the stored configuration's version. Pick a
          cell to edit it.
        </p>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Room</th>
                ${t.map(i=>a`<th>${i}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${e.map(i=>a`<tr>
                  <th>
                    ${i.name}<br /><span class="id">${i.room_id}</span>
                    ${i.area_name?a`<br /><span class="id">area ${i.area_name}</span>`:l}
                  </th>
                  ${t.map(r=>this._renderCell(i,r))}
                </tr>`)}
              ${s.map(i=>a`<tr class="unmapped">
                  <th>${i.room_id}<br /><span class="id">not in the mapping</span></th>
                  ${t.map(r=>this._renderCell(i,r))}
                </tr>`)}
            </tbody>
          </table>
        </div>
        ${e.length===0?a`<p>No rooms are mapped yet: generate a mapping from your areas below.</p>`:l}
      </section>
    `}_renderCell(t,e){let s=t.domains?t.domains[e].reason:"unknown_room",i=t.configs[e],r=t.room_id===this._room&&e===this._domain;return a`<td
      class=${`${s?"denied":"allowed"} ${r?"selected":""}`}
      data-room=${t.room_id}
      data-domain=${e}
      @click=${()=>this._select(t.room_id,e)}
    >
      ${s?a`<span class="reason">${Ht[s]??s}</span>`:a`allowed`}
      ${i?a`<br /><span class="version">v${i.version}</span>
            <span class="id">${A(i.updated_at,this.hass.config.time_zone)}</span>`:l}
    </td>`}_renderEditor(){let{domains:t,rooms:e,unmapped:s}=this._rooms,i=this._stored(this._room,this._domain),r=this._configMessage;return a`
      <section id="editor">
        <h2>Edit a room configuration</h2>
        <div class="row">
          <label
            >Room
            <select id="config-room" @change=${n=>this._select(n.target.value,this._domain)}>
              ${[...e,...s].map(n=>a`<option value=${n.room_id} ?selected=${n.room_id===this._room}>
                    ${n.name??n.room_id}
                  </option>`)}
            </select>
          </label>
          <label
            >Config domain
            <select id="config-domain" @change=${n=>this._select(this._room,n.target.value)}>
              ${t.map(n=>a`<option value=${n} ?selected=${n===this._domain}>${n}</option>`)}
            </select>
          </label>
          <span id="config-version">
            ${i?`stored: version ${i.version}, changed ${A(i.updated_at,this.hass.config.time_zone)}`:"nothing stored"}
          </span>
        </div>
        <textarea
          id="config-data"
          rows="6"
          spellcheck="false"
          .value=${this._draft}
          @input=${n=>{this._draft=n.target.value}}
        ></textarea>
        <div class="row">
          <button id="config-save" @click=${this._save}>Save</button>
          <button id="config-delete" class="secondary" @click=${this._delete}>Delete</button>
        </div>
        ${r?a`<p id="config-message" class=${r.error?"error":"ok"}>${r.text}</p>`:l}
      </section>
    `}_renderMapping(){let t=this._mapping,e=this._mappingMessage;return a`
      <section id="mapping">
        <h2>Area mapping</h2>
        <p>
          <span id="mapping-status" class=${t.status==="invalid"?"error":""}
            >${t.status}</span
          >
          (in force: ${t.source}, ${t.rooms} rooms) · <code>${t.path}</code>
        </p>
        ${t.errors.length||t.warnings?.length?a`${this._renderProblems("mapping-errors","error",t.errors,t.error_count)}
            ${this._renderProblems("mapping-warnings","",t.warnings??[],t.warning_count??0)}`:a`<p>No problems.</p>`}
        <div class="row">
          <button id="mapping-generate" @click=${this._generate}>Generate mapping from areas</button>
          <label
            ><input
              type="checkbox"
              id="mapping-overwrite"
              .checked=${this._overwrite}
              @change=${s=>{this._overwrite=s.target.checked}}
            />
            Replace the existing file</label
          >
        </div>
        ${e?a`<p id="mapping-message" class=${e.error?"error":"ok"}>${e.text}</p>`:l}
      </section>
    `}_renderProblems(t,e,s,i){return s.length?a`<ul id=${t} class=${e}>
        ${s.map(r=>a`<li>
              ${r.line?`line ${r.line}`:""}${r.room_id?`${r.line?", ":""}room ${r.room_id}`:""}:
              ${r.message}${r.loses?.length?` (loses ${r.loses.join(", ")})`:""}
            </li>`)}
      </ul>
      ${i>s.length?a`<p>and ${i-s.length} more</p>`:l}`:l}_renderSleep(){let t=this._sleep,e=t.time_zone,s=this._labelMessage;return a`
      <section id="sleep">
        <h2>Sleep, last ${t.nights.length} nights</h2>
        <p class="hint">
          Each bar runs from noon to noon; darker is a higher sleep probability from the model
          ${t.model_run_id?`(training run ${t.model_run_id})`:"(not trained yet)"}.
          Labels also come from ${t.helpers.sleep_start} and ${t.helpers.sleep_end}.
          "Suggested" is the rest period RoomDB found in the night's activity, lights, phone
          charging and media, with its confidence: confirm it, or correct it, to make it a label.
        </p>
        ${s?a`<p id="label-message" class=${s.error?"error":"ok"}>${s.text}</p>`:l}
        <table class="sleep">
          <thead>
            <tr>
              <th>Night</th>
              <th>Probability (noon to noon)</th>
              <th>Label</th>
              <th>Suggested</th>
              <th>Estimate</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${[...t.nights].reverse().map(i=>this._renderNight(i,e,t.threshold))}
          </tbody>
        </table>
      </section>
    `}_renderNight(t,e,s){let i=this._labelNight?.night_date===t.night_date;return a`<tr data-night=${t.night_date}>
        <th>${t.night_date}</th>
        <td>${this._renderBar(t,s)}</td>
        <td class="label">
          ${t.label?a`${x(t.label.start,e)}–${x(t.label.end,e)}
                <span class="id">${t.label.source}</span>`:a`<span class="id">none</span>`}
        </td>
        <td class="suggestion">
          ${t.suggestion?a`${x(t.suggestion.bedtime,e)}–${x(t.suggestion.wake,e)}
                <span class="id">${Math.round(t.suggestion.confidence*100)} %</span>`:"\u2014"}
        </td>
        <td>
          ${t.bedtime_estimate?`${x(t.bedtime_estimate,e)}\u2013${t.wake_estimate?x(t.wake_estimate,e):"\u2026"}`:"\u2014"}
        </td>
        <td>
          ${t.ended&&t.suggestion&&!t.suggestion.confirmed&&!t.label?a`<button class="confirm-suggestion" @click=${()=>this._confirmSuggestion(t)}>
                Confirm
              </button>`:l}
          ${t.ended?a`<button class="secondary edit-label" @click=${()=>this._editLabel(t)}>
                ${t.label?"Correct":"Enter"}
              </button>`:a`<span class="id">in progress</span>`}
        </td>
      </tr>
      ${i?a`<tr class="label-editor">
            <td colspan="6">
              <label
                >Bedtime
                <input
                  type="datetime-local"
                  id="label-bedtime"
                  .value=${this._labelNight.bedtime}
                  @input=${r=>{this._labelNight={...this._labelNight,bedtime:r.target.value}}}
              /></label>
              <label
                >Wake
                <input
                  type="datetime-local"
                  id="label-wake"
                  .value=${this._labelNight.wake}
                  @input=${r=>{this._labelNight={...this._labelNight,wake:r.target.value}}}
              /></label>
              <button id="label-save" @click=${this._saveLabel}>Save label</button>
              <button
                class="secondary"
                @click=${()=>{this._labelNight=void 0}}
              >
                Cancel
              </button>
            </td>
          </tr>`:l}`}_renderBar(t,e){if(!t.windows.length)return a`<span class="id">no model output</span>`;let s=this._sleep.time_zone;return a`<svg class="bar" viewBox="0 0 96 10" preserveAspectRatio="none">
      ${t.windows.map(([i,r])=>bt`<rect x=${wt(i,s)} y="0" width="1" height="10"
            fill=${r>=e?"var(--primary-color)":"var(--secondary-text-color)"}
            fill-opacity=${Math.max(.08,r)}></rect>`)}
    </svg>`}_renderHealth(){let{event_stream:t,alarm_sync:e,ml:s,rooms:i}=this._status,r=i.counters.writes;return a`
      <section id="health">
        <h2>Health</h2>
        <div class="grid">
          <div>
            <h3>Event stream</h3>
            <p id="event-stream-state">${t.enabled?t.state:"disabled"}</p>
            <p>
              ${t.buffered} buffered of ${t.capacity}, ${t.pending} not yet confirmed,
              ${t.resent} resent, ${t.unrecoverable} unrecoverable
            </p>
            ${t.last_error?a`<p class="error">${t.last_error}</p>`:l}
          </div>
          <div>
            <h3>Alarm sync</h3>
            <p id="alarm-sync-state">${e.status}</p>
            ${e.target?a`<p>with ${e.target} (${e.last_seen_state??"not seen"})</p>`:l}
            ${e.last_push_error?a`<p class="error">${e.last_push_error}</p>`:l}
          </div>
          <div>
            <h3>Sleep learning</h3>
            <p>${s.readiness??"not run yet"}</p>
            <p>${s.labeled_nights} labelled nights, ${s.paired_nights} used for training</p>
          </div>
          <div>
            <h3>Room configurations</h3>
            <p>${r.ok} acknowledged, ${r.retry} asked to wait, ${i.counters.admission.denied} refused by the mapping</p>
            <p>activity pipeline: ${i.pipelines.activity.enabled?`${i.pipelines.activity.watched_entities} sensors watched`:"off"}</p>
          </div>
        </div>
      </section>
    `}static styles=I`
    :host {
      display: block;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      min-height: 100vh;
      font-family: var(--paper-font-body1_-_font-family, Roboto, sans-serif);
    }
    .toolbar {
      display: flex;
      align-items: center;
      gap: 8px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, white);
    }
    .toolbar h1 {
      flex: 1;
      font-size: 20px;
      font-weight: 400;
      margin: 0;
    }
    main {
      padding: 16px;
      display: grid;
      gap: 16px;
      max-width: 1200px;
    }
    section {
      background: var(--card-background-color, white);
      border-radius: var(--ha-card-border-radius, 12px);
      box-shadow: var(--ha-card-box-shadow, 0 1px 3px rgba(0, 0, 0, 0.2));
      padding: 16px;
    }
    h2 {
      margin: 0 0 8px;
      font-size: 18px;
      font-weight: 500;
    }
    h3 {
      margin: 0 0 4px;
      font-size: 15px;
    }
    .hint,
    .id {
      color: var(--secondary-text-color);
      font-size: 12px;
    }
    .scroll {
      overflow-x: auto;
    }
    table {
      border-collapse: collapse;
      width: 100%;
    }
    th,
    td {
      border-bottom: 1px solid var(--divider-color, #ddd);
      padding: 6px 8px;
      text-align: left;
      vertical-align: top;
      font-size: 14px;
    }
    td.allowed {
      cursor: pointer;
      background: color-mix(in srgb, var(--success-color, #4caf50) 12%, transparent);
    }
    td.denied {
      cursor: pointer;
      color: var(--secondary-text-color);
    }
    td.selected {
      outline: 2px solid var(--primary-color);
    }
    .version {
      font-weight: 500;
    }
    .row {
      display: flex;
      flex-wrap: wrap;
      gap: 12px;
      align-items: center;
      margin: 8px 0;
    }
    select,
    input,
    textarea {
      font: inherit;
      color: inherit;
      background: var(--secondary-background-color, #f5f5f5);
      border: 1px solid var(--divider-color, #ccc);
      border-radius: 4px;
      padding: 4px 6px;
    }
    textarea {
      width: 100%;
      box-sizing: border-box;
      font-family: monospace;
    }
    button {
      font: inherit;
      cursor: pointer;
      border: none;
      border-radius: 4px;
      padding: 6px 14px;
      background: var(--primary-color);
      color: var(--text-primary-color, white);
    }
    button.secondary {
      background: transparent;
      color: var(--primary-color);
      border: 1px solid var(--primary-color);
    }
    .toolbar button {
      background: transparent;
      border: 1px solid currentColor;
      color: inherit;
    }
    .error {
      color: var(--error-color, #db4437);
    }
    .ok {
      color: var(--success-color, #43a047);
    }
    .bar {
      width: 240px;
      height: 14px;
      background: var(--secondary-background-color, #eee);
    }
    .grid {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
      gap: 12px;
    }
    .grid p {
      margin: 2px 0;
    }
  `};function Lt(o){let t=new Date(`${o}T12:00:00Z`);return t.setUTCDate(t.getUTCDate()+1),t.toISOString().slice(0,10)}customElements.get("roomdb-panel")||customElements.define("roomdb-panel",st);
/*! Bundled license information:

@lit/reactive-element/css-tag.js:
  (**
   * @license
   * Copyright 2019 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)

@lit/reactive-element/reactive-element.js:
lit-html/lit-html.js:
lit-element/lit-element.js:
  (**
   * @license
   * Copyright 2017 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)

lit-html/is-server.js:
  (**
   * @license
   * Copyright 2022 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)
*/
